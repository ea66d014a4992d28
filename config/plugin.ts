import type { EggPlugin } from 'egg';

const plugin: EggPlugin = {
  mongoose: { enable: true, package: 'egg-mongoose' },
  jwt: { enable: true, package: 'egg-jwt' },
};

export default plugin;
