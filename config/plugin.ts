import type { EggPlugin } from 'egg';

/**
 * egg's built-in plugins this JSON API does not use are off: each adds a middleware (or
 * work) to every request. Kept: security (its TRACE refusal and `../` check; the headers
 * are set by the requestId middleware), multipart (avatars), schedule, logrotator, onerror,
 * watcher/development (local only).
 */
const plugin: EggPlugin = {
  mongoose: { enable: true, package: 'egg-mongoose' },
  jwt: { enable: true, package: 'egg-jwt' },
  session: { enable: false },
  i18n: { enable: false },
  view: { enable: false },
  static: { enable: false },
  jsonp: { enable: false },
};

export default plugin;
