import assert from 'node:assert/strict';
import net from 'node:net';
import { startStandIns } from '../../sandbox/boot';
import { ROOT } from '../helpers/process';

function occupy(): Promise<net.Server & { port: number }> {
  return new Promise(resolve => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => resolve(Object.assign(server, { port: (server.address() as net.AddressInfo).port })));
  });
}

describe('test/sandbox/boot.test.ts (npm run dev\'s stand-ins)', () => {
  it('a taken port is one line naming it and the variable that moves it; nothing is left running', async () => {
    const taken = await occupy();
    try {
      await assert.rejects(startStandIns({ baseDir: ROOT, mongo: { port: taken.port } }), (err: Error) => {
        assert.equal(err.message, `[sandbox] MongoDB sandbox port ${taken.port} is taken (another \`npm run dev\`?); stop it or set SANDBOX_MONGO_PORT to a free port`);
        assert.equal(err.stack, err.message);
        return true;
      });
      await assert.rejects(startStandIns({ baseDir: ROOT, mongo: { port: 0 }, wechat: { port: taken.port } }), /WeChat double port \d+ is taken.*SANDBOX_WECHAT_PORT/);
    } finally {
      taken.close();
    }
  });

  it('SANDBOX_MONGO_PORT and SANDBOX_WECHAT_PORT move the dev stand-ins', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { SANDBOX_MONGO_PORT: '47017', SANDBOX_WECHAT_PORT: '47018' });
      delete process.env.MONGODB_URI;
      delete process.env.WXMP_APPID;
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const local = require('../../config/config.local').default();
      assert.deepEqual(local.sandbox, { mongo: { port: 47017, dbpath: '.data/mongo' }, wechat: { port: 47018 } });
      assert.equal(local.mongoose.clients.mp.url, 'mongodb://127.0.0.1:47017/wxmp');
      assert.equal(local.wxmp.apiBase, 'http://127.0.0.1:47018');
    } finally {
      process.env = saved;
    }
  });
});
