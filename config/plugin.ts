import type { EggPlugin } from 'egg';

/**
 * egg's built-in plugins this JSON API does not use are off: each adds a middleware (or
 * work) to every request. Kept: security (its TRACE refusal and `../` check; the headers
 * are set by the requestId middleware), multipart (avatars), schedule, logrotator, onerror,
 * development (local only) and watcher, which development needs and which egg would start
 * everywhere: outside `local` it has nothing to watch, yet links every worker to the agent
 * and warns "defaultEventSource watcher will NOT take effect" at each start.
 */
const plugin: EggPlugin = {
  mongoose: { enable: true, package: 'egg-mongoose' },
  jwt: { enable: true, package: 'egg-jwt' },
  watcher: { enable: true, env: [ 'local' ] },
  session: { enable: false },
  i18n: { enable: false },
  view: { enable: false },
  static: { enable: false },
  jsonp: { enable: false },
};

export default plugin;
