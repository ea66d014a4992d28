import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import jwt from 'jsonwebtoken';
import { Types } from 'mongoose';
import { restartSandboxMongo, stopSandboxMongo } from '../../../../../sandbox/boot';
import { encryptRaw, listen, MiniProgram } from '../../../../helpers/client';
import { wechat } from '../../../../helpers/sandbox';

const AUTH = '/api/v1/mp/account/user/auth';
const BIND = '/api/v1/mp/account/user/bindPhone';
const INFO = '/api/v1/mp/account/user/info';
const REFRESH = '/api/v1/mp/account/refreshToken';
const RUN = '/api/v1/mp/account/user/run';

describe('test/app/controller/mp/account/user.test.ts', () => {
  const responses: string[] = [];

  afterEach(async () => {
    const ctx = app.mockContext();
    await ctx.models.Account.User.deleteMany({});
    await ctx.models.Basics.User.User.deleteMany({});
    wechat().clearFaults();
  });

  after(() => {
    // No response of this file carried a session_key, the appsecret or the JWT secret.
    const secrets = [ app.config.wxmp.secret, app.config.jwt.secret ];
    for (const body of responses) {
      for (const s of secrets) assert.ok(!body.includes(s), 'a secret appeared in a response body');
      assert.doesNotMatch(body, /session_key/);
    }
  });

  function record<T extends { text: string }>(res: T): T {
    responses.push(res.text);
    return res;
  }

  const get = (path: string, token?: string) => {
    const req = app.httpRequest().get(path);
    return token ? req.set('authorization', `Bearer ${token}`) : req;
  };
  const post = (path: string, body: unknown, token?: string) => {
    const req = app.httpRequest().post(path).set('content-type', 'application/json');
    return (token ? req.set('authorization', `Bearer ${token}`) : req).send(body as object);
  };

  describe('login (POST /user/auth)', () => {
    it('with only jscode upserts the user by openId and returns token, isWXAuth and userInfo', async () => {
      const mp = new MiniProgram(app);
      const res = record(await post(AUTH, { jscode: mp.loginCode() }).expect(200));
      assert.equal(res.body.isWXAuth, false);
      assert.deepEqual(Object.keys(res.body).sort(), [ 'apps', 'isWXAuth', 'token', 'userInfo' ]);
      assert.deepEqual(res.body.apps, [ app.config.wxmp.appid ]);
      assert.equal(res.body.userInfo.telphone, null);
      assert.equal(res.body.userInfo._merchant, null, 'a user without a merchant works (the seed crashed)');
      const claims = jwt.verify(res.body.token, app.config.jwt.secret) as Record<string, unknown>;
      assert.equal(claims.uid, res.body.userInfo.uid);
      assert.equal(claims.openId, mp.openid);
      assert.equal(claims.mid, null);
      const again = record(await post(AUTH, { jscode: mp.loginCode() }).expect(200));
      assert.equal(again.body.userInfo.uid, res.body.userInfo.uid, 'same openId, same user');
      assert.equal(await app.mockContext().models.Account.User.countDocuments({ openId: mp.openid }), 1);
    });

    it('with encryptedData+iv decrypts and stores the profile, isWXAuth true', async () => {
      const mp = new MiniProgram(app);
      const body = await mp.login(true);
      responses.push(JSON.stringify(body));
      assert.equal(body.isWXAuth, true);
      assert.equal(body.userInfo.nickName, '微信用户');
      assert.equal(body.userInfo.city, 'Shenzhen');
      assert.equal(body.userInfo.openId, undefined, 'openId is not echoed in userInfo');
      const stored = await app.mockContext().models.Account.User.findOne({ openId: mp.openid }).lean();
      assert.equal(stored?.isWXAuth, true);
      assert.equal(stored?.wxUserInfo?.province, 'Guangdong');
      assert.equal(stored?.unionid, wechat().unionidFor(mp.openid));
      const later = await mp.login(false);
      assert.equal(later.isWXAuth, true, 'a plain login keeps the stored profile');
      assert.equal(later.userInfo.nickName, '微信用户');
    });

    it('refuses data whose openId differs from the session\'s', async () => {
      const mp = new MiniProgram(app);
      const res = record(await post(AUTH, { jscode: mp.loginCode(), ...mp.encrypt({ ...mp.profile(), openId: 'someone-else' }) }).expect(400));
      assert.equal(res.body.code, 'OPENID_MISMATCH');
      assert.equal(await app.mockContext().models.Account.User.countDocuments({ openId: mp.openid }), 0);
    });

    it('reused and invalid codes are 400 INVALID_CODE', async () => {
      const mp = new MiniProgram(app);
      const code = mp.loginCode();
      await post(AUTH, { jscode: code }).expect(200);
      const reused = record(await post(AUTH, { jscode: code }).expect(400));
      assert.equal(reused.body.code, 'INVALID_CODE');
      assert.match(reused.body.message, /40163/);
      const invalid = record(await post(AUTH, { jscode: 'never-issued' }).expect(400));
      assert.equal(invalid.body.code, 'INVALID_CODE');
    });

    it('WeChat down is 502, slow is 504 and the code is never retried, risk is 403, rate limit is 429', async function() {
      this.timeout(10_000);
      const mp = new MiniProgram(app);
      wechat().inject({ path: '/sns/jscode2session', kind: 'http5xx', times: 1 });
      assert.equal(record(await post(AUTH, { jscode: mp.loginCode() }).expect(502)).body.code, 'WECHAT_UNAVAILABLE');
      wechat().resetCounts();
      wechat().inject({ path: '/sns/jscode2session', kind: 'hang', times: 1 });
      const started = Date.now();
      assert.equal(record(await post(AUTH, { jscode: mp.loginCode() }).expect(504)).body.code, 'WECHAT_TIMEOUT');
      assert.ok(Date.now() - started < app.config.wxmp.requestTimeoutMs + 1000);
      assert.equal(wechat().count('/sns/jscode2session'), 1, 'login never retries a code after a timeout');
      wechat().inject({ path: '/sns/jscode2session', kind: 'errcode', errcode: 45011, errmsg: 'api freq out of limit rid: 6561f0-internal', times: 1 });
      const limited = record(await post(AUTH, { jscode: mp.loginCode() }).expect(429));
      assert.equal(limited.body.code, 'WECHAT_RATE_LIMITED');
      assert.equal(limited.headers['retry-after'], '60');
      assert.doesNotMatch(limited.text, /rid|freq out/, 'WeChat\'s errmsg stays in the log');
      assert.match(limited.body.message, /45011/);
      wechat().inject({ path: '/sns/jscode2session', kind: 'errcode', errcode: 40125, errmsg: 'invalid appsecret rid: 6561f0-x', times: 1 });
      const misconfigured = record(await post(AUTH, { jscode: mp.loginCode() }).expect(502));
      assert.doesNotMatch(misconfigured.text, /appsecret|rid/);
      const risky = new MiniProgram(app);
      wechat().markRisky(risky.openid);
      assert.equal(record(await post(AUTH, { jscode: risky.loginCode() }).expect(403)).body.code, 'WECHAT_RISK_BLOCKED');
    });

    it('two concurrent first logins of one openId leave exactly one user', async () => {
      const mp = new MiniProgram(app);
      const server = await listen(app);
      try {
        const results = await Promise.all(Array.from({ length: 8 }, () => fetch(`${server.url}${AUTH}`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jscode: mp.loginCode() }),
        }).then(async r => ({ status: r.status, body: await r.json() as { userInfo: { uid: string } } }))));
        assert.deepEqual(results.map(r => r.status), Array(8).fill(200));
        assert.equal(new Set(results.map(r => r.body.userInfo.uid)).size, 1);
      } finally {
        await server.close();
      }
      assert.equal(await app.mockContext().models.Account.User.countDocuments({ openId: mp.openid }), 1);
    });
  });

  describe('undecryptable data is a 400 telling the client to log in again', () => {
    const cases: [string, (mp: MiniProgram) => Record<string, string>, string][] = [
      [ 'tampered encryptedData', mp => {
        const enc = mp.encrypt(mp.profile());
        const bytes = Buffer.from(enc.encryptedData, 'base64');
        bytes[bytes.length - 1] ^= 0x55;
        return { ...enc, encryptedData: bytes.toString('base64') };
      }, 'DECRYPT_FAILED' ],
      [ 'short encryptedData (not whole blocks)', mp => ({ ...mp.encrypt(mp.profile()), encryptedData: Buffer.alloc(10, 1).toString('base64') }), 'DECRYPT_FAILED' ],
      [ 'garbage encryptedData', mp => ({ ...mp.encrypt(mp.profile()), encryptedData: crypto.randomBytes(64).toString('base64') }), 'DECRYPT_FAILED' ],
      [ 'the wrong iv', mp => ({ ...mp.encrypt(mp.profile()), iv: crypto.randomBytes(16).toString('base64') }), 'DECRYPT_FAILED' ],
      [ 'an iv of the wrong length', mp => ({ ...mp.encrypt(mp.profile()), iv: crypto.randomBytes(12).toString('base64') }), 'INVALID_PARAM' ],
      [ 'a watermark of another appid', mp => encryptRaw(mp.sessionKey, JSON.stringify({ nickName: 'x', watermark: { appid: 'wxotherapp', timestamp: 1 } })), 'DECRYPT_FAILED' ],
      [ 'no watermark', mp => encryptRaw(mp.sessionKey, JSON.stringify({ nickName: 'x' })), 'DECRYPT_FAILED' ],
      [ 'plaintext that is not JSON', mp => encryptRaw(mp.sessionKey, 'hello world'), 'DECRYPT_FAILED' ],
      [ 'data encrypted with another user\'s session key', mp => new MiniProgram(app).encrypt(mp.profile()), 'DECRYPT_FAILED' ],
    ];
    for (const [ label, build, code ] of cases) {
      it(label, async () => {
        const mp = new MiniProgram(app);
        const res = record(await post(AUTH, { jscode: mp.loginCode(), ...build(mp) }).expect(400));
        assert.equal(res.body.code, code);
        if (code === 'DECRYPT_FAILED') assert.match(res.body.message, /log in again/);
      });
    }

    it('rejects stale data when WXMP_DECRYPT_MAX_AGE is set', async () => {
      mm(app.config.wxmp, 'decryptMaxAgeSeconds', 60);
      const mp = new MiniProgram(app);
      const stale = mp.encrypt(mp.profile(), Math.floor(Date.now() / 1000) - 3600);
      assert.equal(record(await post(AUTH, { jscode: mp.loginCode(), ...stale }).expect(400)).body.code, 'DECRYPT_FAILED');
      await post(AUTH, { jscode: mp.loginCode(), ...mp.encrypt(mp.profile()) }).expect(200);
    });
  });

  describe('authenticated routes', () => {
    it('bindPhone with the seed\'s { jscode, encryptedData, iv } sets telphone and upserts the basics user', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login(true);
      const enc = mp.encrypt({ phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' });
      const res = record(await post(BIND, { jscode: mp.loginCode(), ...enc }, token).expect(200));
      assert.deepEqual(res.body, { phone: '13800138000' });
      const ctx = app.mockContext();
      assert.equal((await ctx.models.Account.User.findOne({ openId: mp.openid }).lean())?.telphone, '13800138000');
      const basic = await ctx.models.Basics.User.User.findOne({ phone: '13800138000' }).lean();
      assert.equal(basic?.wx_unionid, wechat().unionidFor(mp.openid));
      assert.equal(basic?.wx_UserInfo?.nickName, '微信用户');
    });

    it('bindPhone with WeChat\'s current { code } goes through getuserphonenumber', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      wechat().resetCounts();
      const code = wechat().issuePhoneCode(mp.appid, '13900139000');
      const res = record(await post(BIND, { code }, token).expect(200));
      assert.deepEqual(res.body, { phone: '13900139000' });
      assert.equal(wechat().count('/wxa/business/getuserphonenumber'), 1);
      const reused = record(await post(BIND, { code }, token).expect(400));
      assert.equal(reused.body.code, 'INVALID_CODE');
    });

    describe('a phone number belongs to one user', () => {
      const bindCode = (mp: MiniProgram, phone: string) => ({ code: wechat().issuePhoneCode(mp.appid, phone) });
      const basics = () => app.mockContext().models.Basics.User.User;
      const users = () => app.mockContext().models.Account.User;

      it('a number another user holds is 409 PHONE_TAKEN, and nothing changes for anyone', async () => {
        const alice = new MiniProgram(app);
        const bob = new MiniProgram(app);
        const a = await alice.login(true);
        const b = await bob.login(true);
        await post(BIND, bindCode(alice, '13811112222'), a.token).expect(200);
        const before = JSON.stringify([ await users().find().sort({ openId: 1 })
          .lean(), await basics().find().lean() ]);
        const res = record(await post(BIND, bindCode(bob, '13811112222'), b.token).expect(409));
        assert.equal(res.body.code, 'PHONE_TAKEN');
        assert.equal(JSON.stringify([ await users().find().sort({ openId: 1 })
          .lean(), await basics().find().lean() ]), before);
        const basic = await basics().findOne({ phone: '13811112222' }).lean();
        assert.equal(basic?.wx_openId, alice.openid);
        assert.equal(basic?.wx_unionid, wechat().unionidFor(alice.openid));
        assert.equal((await users().findOne({ openId: bob.openid }).lean())?.telphone, undefined);
        // The seed's encrypted form is held to the same rule.
        const enc = bob.encrypt({ phoneNumber: '13811112222', purePhoneNumber: '13811112222', countryCode: '86' });
        assert.equal(record(await post(BIND, { jscode: bob.loginCode(), ...enc }, b.token).expect(409)).body.code, 'PHONE_TAKEN');
      });

      it('12 users racing for one number: exactly one wins, the platform user carries only the winner', async () => {
        const players = Array.from({ length: 12 }, () => new MiniProgram(app));
        const tokens: string[] = [];
        for (const p of players) tokens.push((await p.login(true)).token);
        const server = await listen(app);
        let statuses: number[];
        try {
          statuses = await Promise.all(players.map((p, i) => fetch(`${server.url}${BIND}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i]}` },
            body: JSON.stringify(bindCode(p, '13822223333')),
          }).then(r => r.status)));
        } finally {
          await server.close();
        }
        assert.equal(statuses.filter(s => s === 200).length, 1, `statuses ${statuses}`);
        assert.equal(statuses.filter(s => s === 409).length, 11);
        const winner = players[statuses.indexOf(200)];
        const holders = await users().find({ telphone: '13822223333' }).lean();
        assert.deepEqual(holders.map(u => u.openId), [ winner.openid ]);
        const basic = await basics().findOne({ phone: '13822223333' }).lean();
        assert.equal(basic?.wx_openId, winner.openid);
        assert.equal(basic?.wx_unionid, wechat().unionidFor(winner.openid));
      });

      it('re-binding moves the WeChat link to the new number and frees the old one', async () => {
        const carol = new MiniProgram(app);
        const { token } = await carol.login(true);
        const phones = [ '13833330001', '13833330002', '13833330003', '13833330004', '13833330005' ];
        for (const phone of phones) await post(BIND, bindCode(carol, phone), token).expect(200);
        assert.equal(await basics().countDocuments({ wx_unionid: wechat().unionidFor(carol.openid) }), 1, 'one platform user carries her unionid');
        assert.equal(await basics().countDocuments({ wx_openId: carol.openid }), 1);
        const old = await basics().findOne({ phone: phones[0] }).lean();
        assert.ok(old, 'the platform user of the old number stays (other apps may use it)');
        assert.equal(old.wx_openId, undefined);
        assert.equal(old.wx_unionid, undefined);
        assert.equal(old.wx_UserInfo, undefined);
        // The old number is free again: another user may bind it, and gets only their own link.
        const dave = new MiniProgram(app);
        const d = await dave.login();
        await post(BIND, bindCode(dave, phones[0]), d.token).expect(200);
        const now = await basics().findOne({ phone: phones[0] }).lean();
        assert.equal(now?.wx_openId, dave.openid);
        const daveUser = await users().findOne({ openId: dave.openid }).lean();
        assert.equal(now?.wx_unionid, daveUser?.unionid, 'his own unionid, nothing of Carol\'s');
        assert.equal(now?.wx_UserInfo, undefined, 'no profile left from anyone (Dave shared none)');
      });

      it('a platform user left by the seed with someone\'s link gets the binder\'s link as a whole', async () => {
        await basics().create({ phone: '13855550000', wx_UserInfo: { nickName: 'legacy' }, wx_unionid: 'un_legacy' });
        const frank = new MiniProgram(app);
        const { token } = await frank.login();
        await app.mockContext().models.Account.User.updateOne({ openId: frank.openid }, { $unset: { unionid: 1 } });
        await post(BIND, bindCode(frank, '13855550000'), token).expect(200);
        const basic = await basics().findOne({ phone: '13855550000' }).lean();
        assert.equal(basic?.wx_openId, frank.openid);
        assert.equal(basic?.wx_unionid, undefined);
        assert.equal(basic?.wx_UserInfo, undefined);
      });

      it('binding the number you already hold again is fine and changes nothing else', async () => {
        const erin = new MiniProgram(app);
        const { token } = await erin.login(true);
        await post(BIND, bindCode(erin, '13844440000'), token).expect(200);
        await post(BIND, bindCode(erin, '13844440000'), token).expect(200);
        assert.equal((await basics().findOne({ phone: '13844440000' }).lean())?.wx_openId, erin.openid);
      });
    });

    it('data that decrypts but lacks its field is 400 DATA_INCOMPLETE, not a request to log in again', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      const phone = record(await post(BIND, { jscode: mp.loginCode(), ...mp.encrypt({ purePhoneNumber: '13800138000' }) }, token).expect(400));
      assert.equal(phone.body.code, 'DATA_INCOMPLETE');
      assert.match(phone.body.message, /phoneNumber/);
      const run = record(await post(RUN, { jscode: mp.loginCode(), ...mp.encrypt({ steps: [] }) }, token).expect(400));
      assert.equal(run.body.code, 'DATA_INCOMPLETE');
      assert.match(run.body.message, /stepInfoList/);
    });

    it('bindPhone refuses a wx.login code of another user', async () => {
      const mp = new MiniProgram(app);
      const other = new MiniProgram(app);
      const { token } = await mp.login();
      const res = record(await post(BIND, { jscode: other.loginCode(), ...other.encrypt({ phoneNumber: '13800000000' }) }, token).expect(400));
      assert.equal(res.body.code, 'OPENID_MISMATCH');
    });

    it('info returns the seed\'s shape for the token\'s own user only', async () => {
      const a = new MiniProgram(app);
      const b = new MiniProgram(app);
      const la = await a.login(true);
      await b.login();
      const res = record(await get(INFO, la.token).expect(200));
      assert.deepEqual(Object.keys(res.body).sort(), [ 'apps', 'isWXAuth', 'userInfo' ]);
      assert.equal(res.body.isWXAuth, true);
      assert.deepEqual(res.body.userInfo, {
        uid: la.userInfo.uid, telphone: null, _merchant: null, nickName: '微信用户',
        avatarUrl: 'https://thirdwx.qlogo.cn/a.png', gender: 1, city: 'Shenzhen', province: 'Guangdong', country: 'China',
      });
    });

    it('refreshToken re-reads the user (merchant included) and signs a fresh token', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      const mid = new Types.ObjectId();
      await app.mockContext().models.Account.User.updateOne({ _id: userInfo.uid }, { $set: { _merchant: { _id: mid, role: 'owner' } } });
      await new Promise(r => setTimeout(r, 1100)); // a new iat
      const res = record(await get(REFRESH, token).expect(200));
      assert.notEqual(res.body.token, token);
      const claims = jwt.verify(res.body.token, app.config.jwt.secret) as Record<string, unknown>;
      assert.equal(claims.mid, mid.toString());
      assert.equal(claims.role, 'owner');
      assert.equal(res.body.userInfo._merchant._id, mid.toString());
      await get(INFO, res.body.token).expect(200);
    });

    it('session returns the token\'s claims without a database read', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      const res = record(await get('/api/v1/mp/account/session', token).expect(200));
      assert.equal(res.body.uid, userInfo.uid);
      assert.equal(res.body.openId, mp.openid);
      assert.equal(typeof res.body.exp, 'number');
      await get('/api/v1/mp/account/session').expect(401);
    });

    it('run returns the decrypted stepInfoList', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      const stepInfoList = [{ timestamp: 1700000000, step: 8000 }, { timestamp: 1700086400, step: 12000 }];
      const res = record(await post(RUN, { jscode: mp.loginCode(), ...mp.encrypt({ stepInfoList }) }, token).expect(200));
      assert.deepEqual(res.body, { stepInfoList });
    });

    it('401 for missing, alg:none, wrong-key, expired, garbage and deleted-user tokens', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      const claims = { uid: userInfo.uid, openId: mp.openid, isWXAuth: false, mid: null, role: null };
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      const wrongKey = jwt.sign(claims, 'not-the-server-secret-not-the-server-secret');
      const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, app.config.jwt.secret);
      const hs512 = jwt.sign(claims, app.config.jwt.secret, { algorithm: 'HS512' });
      for (const [ label, auth, code ] of [
        [ 'missing', undefined, 'UNAUTHORIZED' ],
        [ 'alg none', none, 'UNAUTHORIZED' ],
        [ 'wrong key', wrongKey, 'UNAUTHORIZED' ],
        [ 'HS512 with the right key', hs512, 'UNAUTHORIZED' ],
        [ 'expired', expired, 'TOKEN_EXPIRED' ],
        [ 'garbage', 'abc.def.ghi', 'UNAUTHORIZED' ],
      ] as const) {
        const res = record(await get(INFO, auth).expect(401));
        assert.equal(res.body.code, code, label);
      }
      await app.httpRequest().get(INFO).set('authorization', `Basic ${token}`)
        .expect(401);
      await app.mockContext().models.Account.User.deleteOne({ _id: userInfo.uid });
      const deleted = record(await get(INFO, token).expect(401));
      assert.equal(deleted.body.code, 'USER_NOT_FOUND');
      assert.equal(record(await get(REFRESH, token).expect(401)).body.code, 'USER_NOT_FOUND');
    });

    it('503 while the database is down; nothing stored is lost', async function() {
      this.timeout(20_000);
      const mp = new MiniProgram(app);
      const { token } = await mp.login(true);
      await stopSandboxMongo();
      try {
        const res = record(await get(INFO, token).expect(503));
        assert.equal(res.body.code, 'DB_UNAVAILABLE');
      } finally {
        await restartSandboxMongo();
      }
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = (await get(INFO, token)).status;
        if (status !== 200) await new Promise(r => setTimeout(r, 200));
      }
      assert.equal(status, 200);
      assert.equal((await get(INFO, token)).body.userInfo.nickName, '微信用户');
    });
  });

  describe('malformed requests are 4xx with a stable code, never 5xx, and change nothing', () => {
    // label, path, body, sent with a token, the code it must get
    const table: [string, string, () => unknown, boolean, string][] = [
      [ 'auth: empty body', AUTH, () => ({}), false, 'INVALID_PARAM' ],
      [ 'auth: jscode as object ($gt)', AUTH, () => ({ jscode: { $gt: '' } }), false, 'INVALID_PARAM' ],
      [ 'auth: jscode as number', AUTH, () => ({ jscode: 123 }), false, 'INVALID_PARAM' ],
      [ 'auth: jscode as array', AUTH, () => ({ jscode: [ 'a' ] }), false, 'INVALID_PARAM' ],
      [ 'auth: jscode as boolean', AUTH, () => ({ jscode: true }), false, 'INVALID_PARAM' ],
      [ 'auth: jscode empty', AUTH, () => ({ jscode: '' }), false, 'INVALID_PARAM' ],
      [ 'auth: jscode too long', AUTH, () => ({ jscode: 'a'.repeat(129) }), false, 'INVALID_PARAM' ],
      [ 'auth: jscode with spaces', AUTH, () => ({ jscode: 'a b' }), false, 'INVALID_PARAM' ],
      [ 'auth: encryptedData without iv', AUTH, () => ({ jscode: 'abc', encryptedData: 'AAAA' }), false, 'INVALID_PARAM' ],
      [ 'auth: iv without encryptedData', AUTH, () => ({ jscode: 'abc', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }), false, 'INVALID_PARAM' ],
      [ 'auth: encryptedData not base64', AUTH, () => ({ jscode: 'abc', encryptedData: '!!!notbase64', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }), false, 'INVALID_PARAM' ],
      [ 'auth: encryptedData as object', AUTH, () => ({ jscode: 'abc', encryptedData: { $ne: null }, iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }), false, 'INVALID_PARAM' ],
      [ 'auth: encryptedData too long', AUTH, () => ({ jscode: 'abc', encryptedData: 'A'.repeat(40000), iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }), false, 'INVALID_PARAM' ],
      [ 'auth: iv too short', AUTH, () => ({ jscode: 'abc', encryptedData: 'AAAA', iv: 'AAAA' }), false, 'INVALID_PARAM' ],
      [ 'auth: iv as number', AUTH, () => ({ jscode: 'abc', encryptedData: 'AAAA', iv: 7 }), false, 'INVALID_PARAM' ],
      [ 'auth: body is an array', AUTH, () => [{ jscode: 'abc' }], false, 'INVALID_PARAM' ],
      [ 'auth: body is a JSON string', AUTH, () => '"jscode"', false, 'INVALID_BODY' ],
      [ 'auth: invalid JSON', AUTH, () => '{"jscode":', false, 'INVALID_BODY' ],
      [ 'bindPhone: no fields', BIND, () => ({}), true, 'INVALID_PARAM' ],
      [ 'bindPhone: code as object', BIND, () => ({ code: { $gt: '' } }), true, 'INVALID_PARAM' ],
      [ 'bindPhone: code as number', BIND, () => ({ code: 42 }), true, 'INVALID_PARAM' ],
      [ 'bindPhone: jscode without encryptedData', BIND, () => ({ jscode: 'abc' }), true, 'INVALID_PARAM' ],
      [ 'bindPhone: encryptedData/iv without jscode', BIND, () => ({ encryptedData: 'AAAA', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }), true, 'INVALID_PARAM' ],
      [ 'bindPhone: code too long', BIND, () => ({ code: 'c'.repeat(200) }), true, 'INVALID_PARAM' ],
      [ 'run: no fields', RUN, () => ({}), true, 'INVALID_PARAM' ],
      [ 'run: jscode only', RUN, () => ({ jscode: 'abc' }), true, 'INVALID_PARAM' ],
      [ 'run: iv wrong type', RUN, () => ({ jscode: 'abc', encryptedData: 'AAAA', iv: true }), true, 'INVALID_PARAM' ],
      [ 'run: jscode with $where', RUN, () => ({ jscode: { $where: 'sleep(1000)' }, encryptedData: 'AAAA', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }), true, 'INVALID_PARAM' ],
      [ 'bindPhone: no token at all', BIND, () => ({ code: 'abc' }), false, 'UNAUTHORIZED' ],
    ];

    it('validation messages name the field and the rule (from the OpenAPI schemas)', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      const cases: [string, unknown, string, boolean][] = [
        [ AUTH, {}, 'jscode is required', false ],
        [ AUTH, { jscode: 123 }, 'jscode must be a string', false ],
        [ AUTH, { jscode: 'a b' }, 'jscode must be 1-128 letters, digits, _ or -', false ],
        [ AUTH, { jscode: 'abc', encryptedData: 'AAAA' }, 'encryptedData and iv must be sent together', false ],
        [ AUTH, { jscode: 'abc', encryptedData: 'AAAA', iv: 'short' }, 'iv must be base64 of 16 bytes (24 characters)', false ],
        [ AUTH, { jscode: 'abc', encryptedData: '!!!!', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'encryptedData must be base64 of at most 32768 characters', false ],
        [ AUTH, [ 1 ], 'Request body must be a JSON object', false ],
        [ BIND, {}, 'Send either code, or jscode with encryptedData and iv', true ],
        [ BIND, { jscode: 'abc' }, 'Send either code, or jscode with encryptedData and iv', true ],
        [ BIND, { code: { $gt: '' } }, 'code must be a string', true ],
        [ RUN, { jscode: 'abc' }, 'encryptedData is required', true ],
      ];
      for (const [ path, body, message, authed ] of cases) {
        const res = record(await post(path, body, authed ? token : undefined).expect(400));
        assert.deepEqual(res.body, { code: 'INVALID_PARAM', message }, JSON.stringify(body));
      }
    });

    it('a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE, not "jscode is required"', async () => {
      const mp = new MiniProgram(app);
      wechat().resetCounts();
      const form = record(await app.httpRequest().post(AUTH).type('form')
        .send({ jscode: mp.loginCode() })
        .expect(415));
      assert.deepEqual(form.body, { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as JSON (Content-Type: application/json)' });
      await app.httpRequest().post(AUTH).set('content-type', 'text/plain')
        .send(JSON.stringify({ jscode: mp.loginCode() }))
        .expect(415);
      await app.httpRequest().post(AUTH).set('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ jscode: mp.loginCode() }))
        .expect(200);
      assert.equal(wechat().count('/sns/jscode2session'), 1, 'only the JSON one reached WeChat');
    });

    it(`${table.length} malformed requests: each its code, no WeChat call, nothing stored`, async () => {
      assert.ok(table.length >= 25);
      const mp = new MiniProgram(app);
      const { token } = await mp.login(true);
      const ctx = app.mockContext();
      const before = JSON.stringify(await ctx.models.Account.User.find().lean());
      for (const [ label, path, body, authed, code ] of table) {
        wechat().resetCounts();
        const payload = body();
        let req = app.httpRequest().post(path).set('content-type', 'application/json');
        if (authed) req = req.set('authorization', `Bearer ${token}`);
        const res = record(await req.send(typeof payload === 'string' ? payload : JSON.stringify(payload)));
        assert.ok(res.status >= 400 && res.status < 500, `${label}: got ${res.status} ${res.text}`);
        assert.equal(res.body.code, code, `${label}: ${res.text}`);
        assert.equal(typeof res.body.message, 'string', `${label}: has a message`);
        assert.equal(wechat().totalCalls(), 0, `${label}: refused before any WeChat call`);
      }
      assert.equal(JSON.stringify(await ctx.models.Account.User.find().lean()), before, 'nothing stored changed');
    });
  });
});
