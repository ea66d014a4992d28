import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mm, { type MockApplication } from 'egg-mock';
import { MongoClient } from 'mongodb';
import { mongoClientConfig } from '../../config/mongo_uri';
import { startMongoSandbox, type MongoSandbox } from '../../sandbox/mongo/server';
import { MiniProgram } from '../helpers/client';
import { findSecrets } from '../helpers/secrets';

const PASSWORD = 'db-pass-Zq7wX9vK2mN4';
// Secrets of other kinds in the same app, for the config dump's ignore list.
const INTERNAL_KEY = 'internal-key-Hq3rT8yU1oP6aS5dF2gJ';
const PREVIOUS_JWT_SECRET = 'previous-jwt-secret-Lk9mN2bV7cX4zQ1w';
// The app boots on an apps file (WXMP_APPS_FILE) of two mini-programs the WeChat double knows.
const MERCHANT = { appid: 'wxsandbox0000000002', secret: 'sandbox-merchant-secret', pushToken: 'merchantPushTok3n', pushAesKey: 'merchantPushAesKey0123456789abcdefghijklmno' };
const APPS = [{ appid: 'wxtest00000000000001', secret: 'test-app-secret-value', name: 'customer', pushToken: 'customerPushTok3n', pushAesKey: 'customerPushAesKey0123456789abcdefghijklmno' }, MERCHANT ];

describe('test/config/mongo_credentials.test.ts (no database password at rest)', () => {
  it('splits user:password out of MONGODB_URI; the URL keeps hosts and options', () => {
    const c = mongoClientConfig(`mongodb://app%40corp:${encodeURIComponent('p@ss:w/rd')}@db1:27017,db2:27017/wxmp?replicaSet=rs0&authSource=admin`, 5000);
    assert.equal(c.url, 'mongodb://db1:27017,db2:27017/wxmp?replicaSet=rs0&authSource=admin');
    assert.deepEqual(c.options.auth, { username: 'app@corp', password: 'p@ss:w/rd' });
    assert.equal(mongoClientConfig('mongodb+srv://u:p@cluster0.example.net/wxmp', 5000).url, 'mongodb+srv://cluster0.example.net/wxmp');
    assert.equal(mongoClientConfig('mongodb://db/wxmp', 5000).options.auth, undefined);
    assert.throws(() => mongoClientConfig(`https://u:${PASSWORD}@db/wxmp`, 5000), (err: Error) => !err.message.includes(PASSWORD));
  });

  describe('an app on a MongoDB that requires authentication (sandbox --auth)', () => {
    let sandbox: MongoSandbox;
    let app: MockApplication;
    let appsDir: string;

    before(async function() {
      this.timeout(60_000);
      sandbox = await startMongoSandbox({ port: 0, users: [{ username: 'wxmp_app', password: PASSWORD }] });
      mm(process.env, 'MONGODB_URI', `mongodb://wxmp_app:${PASSWORD}@127.0.0.1:${sandbox.port}/wxmp_cred?authSource=admin`);
      mm(process.env, 'INTERNAL_API_KEYS', `ops:${INTERNAL_KEY}`);
      mm(process.env, 'JWT_PREVIOUS_SECRETS', PREVIOUS_JWT_SECRET);
      appsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxmp-apps-'));
      fs.writeFileSync(path.join(appsDir, 'apps.json'), JSON.stringify(APPS));
      mm(process.env, 'WXMP_APPS_FILE', path.join(appsDir, 'apps.json'));
      app = mm.app({ cache: false });
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await sandbox?.stop();
      fs.rmSync(appsDir, { recursive: true, force: true });
    });

    it('serves the apps of WXMP_APPS_FILE: a login in the second app', async () => {
      assert.deepEqual(app.config.wxmp.apps.map(a => a.appid), APPS.map(a => a.appid));
      assert.equal(app.config.wxmp.appid, APPS[0].appid, 'the one-app fields are the first app\'s');
      const { token } = await new MiniProgram(app, undefined, { appid: MERCHANT.appid }).login();
      const session = await app.httpRequest().get('/api/v1/mp/account/session').set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(session.body.appid, MERCHANT.appid);
    });

    it('authenticates and serves', async () => {
      const mp = new MiniProgram(app, undefined, { appid: APPS[0].appid });
      const { userInfo } = await mp.login();
      // Read back over a connection of our own: the write went through the authenticated one.
      const client = await MongoClient.connect(`mongodb://wxmp_app:${PASSWORD}@127.0.0.1:${sandbox.port}/?authSource=admin`);
      try {
        assert.equal(await client.db('wxmp_cred').collection('users').countDocuments({ openId: mp.openid }), 1);
        assert.equal(userInfo.uid, (await client.db('wxmp_cred').collection('users').findOne({ openId: mp.openid }))?._id.toString());
      } finally {
        await client.close();
      }
    });

    it('egg\'s config dumps and the logs hold no database password, internal API key, previous JWT secret, AppSecret of any app or push Token/EncodingAESKey', async () => {
      const agent = (app as unknown as { agent: MockApplication }).agent;
      const appDump = path.join(app.config.rundir, 'application_config.json');
      const agentDump = path.join(agent.config.rundir, 'agent_config.json');
      for (const file of [ appDump, agentDump ]) {
        assert.ok(fs.existsSync(file), `${file} was written`);
        const dumped = JSON.parse(fs.readFileSync(file, 'utf8'));
        assert.ok(!String(dumped.config.mongoose.clients.mp.url).includes('@'), 'no credentials in the dumped URL');
        assert.notEqual(dumped.config.mongoose.clients.mp.options.auth.password, PASSWORD, 'masked by egg');
      }
      await new Promise(r => setTimeout(r, 1200)); // egg's file loggers flush every second
      const dirs = [ app.config.rundir, agent.config.rundir, app.config.logger.dir, agent.config.logger.dir ].filter((d): d is string => !!d);
      assert.equal(app.config.internal.keys[0]?.key, INTERNAL_KEY, 'the app has the key');
      assert.deepEqual(app.config.session.previousSecrets, [ PREVIOUS_JWT_SECRET ], 'and the previous secret');
      const { token, aesKey } = app.config.wxmp.push; // the test config sets both
      assert.ok(token.length > 8 && aesKey.length === 43, 'and the push secrets');
      assert.deepEqual(findSecrets(dirs, [ PASSWORD, encodeURIComponent(PASSWORD), INTERNAL_KEY, PREVIOUS_JWT_SECRET, token, aesKey, ...APPS.flatMap(a => [ a.secret, a.pushToken, a.pushAesKey ]) ]), []);
    });
  });
});
