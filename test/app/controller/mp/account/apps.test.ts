import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import type { WxAppConfig } from '../../../../../config/config.default';
import { listen, MiniProgram } from '../../../../helpers/client';
import { resetTokens, wechat } from '../../../../helpers/sandbox';

const AUTH = '/api/v1/mp/account/user/auth';
const INFO = '/api/v1/mp/account/user/info';
const BIND = '/api/v1/mp/account/user/bindPhone';
const PROFILE = '/api/v1/mp/account/user/profile';
const REFRESH = '/api/v1/mp/account/refreshToken';
const INTERNAL_TOKEN = '/api/v1/internal/wx/access_token';
const KEY = 'k'.repeat(40);
/** The second mini-program: the double knows it (the development app's AppID and secret). */
const B = 'wxsandbox0000000001';
const B_PUSH = { token: 'merchantPushToken', aesKey: 'merchantPushEncodingAesKey0123456789abcdefg' };

describe('test/app/controller/mp/account/apps.test.ts (several mini-programs, one person across them)', () => {
  let A: string;
  const users = () => app.mockContext().models.Account.User;
  const basics = () => app.mockContext().models.Basics.User.User;
  const claimsOf = (token: string) => jwt.verify(token, app.config.jwt.secret) as Record<string, unknown>;
  const get = (path: string, token: string) => app.httpRequest().get(path).set('authorization', `Bearer ${token}`);
  const post = (path: string, body: object, token?: string) => {
    const req = app.httpRequest().post(path).send(body);
    return token ? req.set('authorization', `Bearer ${token}`) : req;
  };
  /** One person in both apps: a unionid of their own, an openid per app. */
  const person = (unionid: string | null = `un_${crypto.randomBytes(8).toString('hex')}`) => ({
    a: new MiniProgram(app, undefined, { appid: A, unionid }),
    b: new MiniProgram(app, undefined, { appid: B, unionid }),
  });

  beforeEach(() => {
    A = app.config.wxmp.appid;
    const first: WxAppConfig = { appid: A, secret: app.config.wxmp.secret, name: 'customer', tokenMode: 'classic', push: app.config.wxmp.push };
    const second: WxAppConfig = { appid: B, secret: 'sandbox-app-secret', name: 'merchant', tokenMode: 'classic', push: B_PUSH };
    mm(app.config.wxmp, 'apps', [ first, second ]);
  });
  afterEach(async () => {
    await users().deleteMany({});
    await basics().deleteMany({});
  });

  describe('login: which app', () => {
    it('several apps and none named: 400 APP_REQUIRED; an AppID not served: 400 UNKNOWN_APP; neither calls WeChat', async () => {
      const { a } = person();
      const before = wechat().count('/sns/jscode2session');
      const required = await post(AUTH, { jscode: a.loginCode() }).expect(400);
      assert.equal(required.body.code, 'APP_REQUIRED');
      assert.match(required.body.message, new RegExp(B));
      const unknown = await post(AUTH, { jscode: a.loginCode(), appid: 'wx00000000000000000000' }).expect(400);
      assert.equal(unknown.body.code, 'UNKNOWN_APP');
      const viaReferer = await app.httpRequest().post(AUTH).set('referer', 'https://servicewechat.com/wx00000000000000000000/3/page-frame.html')
        .send({ jscode: a.loginCode() })
        .expect(400);
      assert.equal(viaReferer.body.code, 'UNKNOWN_APP');
      assert.equal(wechat().count('/sns/jscode2session'), before, 'no upstream call');
    });

    it('WeChat\'s Referer names the app when the body does not', async () => {
      const { b } = person();
      const res = await app.httpRequest().post(AUTH).set('referer', `https://servicewechat.com/${B}/devtools/page-frame.html`)
        .send({ jscode: b.loginCode() })
        .expect(200);
      assert.deepEqual(res.body.apps, [ B ]);
      assert.equal(claimsOf(res.body.token).appid, B);
    });

    it('a code of app A sent as app B is refused by WeChat (40029): naming the wrong app gains nothing', async () => {
      const { a } = person();
      const res = await post(AUTH, { jscode: a.loginCode(), appid: B }).expect(400);
      assert.equal(res.body.code, 'INVALID_CODE');
      assert.equal(await users().countDocuments({}), 0);
    });

    it('with one app configured, neither appid nor Referer is needed (the one-app release\'s clients)', async () => {
      mm(app.config.wxmp, 'apps', []);
      const res = await post(AUTH, { jscode: new MiniProgram(app).loginCode() }).expect(200);
      assert.deepEqual(res.body.apps, [ A ]);
    });
  });

  describe('one person, one user', () => {
    it('one unionid logging in to both apps: one uid, apps lists both, each token carries its app and openid', async () => {
      const { a, b } = person();
      const inA = await a.login(true);
      const inB = await b.login();
      assert.equal(inB.userInfo.uid, inA.userInfo.uid, 'the same user');
      assert.deepEqual((inB as unknown as { apps: string[] }).apps.sort(), [ A, B ].sort());
      const ca = claimsOf(inA.token);
      const cb = claimsOf(inB.token);
      assert.deepEqual([ ca.appid, ca.openId ], [ A, a.openid ]);
      assert.deepEqual([ cb.appid, cb.openId ], [ B, b.openid ]);
      assert.equal(inB.isWXAuth, true, 'the profile shared in app A is the person\'s');
      const info = await get(INFO, inA.token).expect(200);
      assert.deepEqual(info.body.apps.sort(), [ A, B ].sort());
      const stored = await users().findById(inA.userInfo.uid).lean();
      assert.equal(stored?.appid, A, 'the app the user first came from');
      assert.equal(stored?.openId, a.openid);
      assert.equal(await users().countDocuments({}), 1);
      // A refresh keeps the token's app.
      const refreshed = await get(REFRESH, inB.token).expect(200);
      assert.equal(claimsOf(refreshed.body.token).appid, B);
      assert.equal(claimsOf(refreshed.body.token).openId, b.openid);
    });

    it('a person without unionid (apps not bound to one open-platform account): a user per app', async () => {
      const { a, b } = person(null);
      const inA = await a.login();
      const inB = await b.login();
      assert.notEqual(inB.userInfo.uid, inA.userInfo.uid);
      assert.equal(await users().countDocuments({}), 2);
    });

    it('twelve concurrent first logins of one person across both apps make one user', async () => {
      const server = await listen(app);
      try {
        for (let round = 0; round < 3; round++) {
          const { a, b } = person();
          const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
            const mp = i % 2 ? b : a;
            const res = await fetch(`${server.url}${AUTH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jscode: mp.loginCode(), appid: mp.appid }) });
            assert.equal(res.status, 200, await res.clone().text());
            return (await res.json() as { userInfo: { uid: string } }).userInfo.uid;
          }));
          assert.equal(new Set(answers).size, 1, `round ${round}: one uid`);
          const user = await users().findById(answers[0]).lean();
          assert.equal(await users().countDocuments({ $or: [{ openId: { $in: [ a.openid, b.openid ] } }, { 'wxApps.openid': { $in: [ a.openid, b.openid ] } }] }), 1);
          assert.deepEqual(user?.wxApps?.map(l => l.appid).sort(), [ A, B ].sort(), 'both apps linked once');
        }
      } finally {
        await server.close();
      }
    });

    it('the database refuses a second user with a unionid already taken (what decides a race of first logins on a real replica set)', async () => {
      await users().init();
      await users().create({ openId: 'o_first', unionid: 'un_same', appid: A });
      await assert.rejects(users().create({ openId: 'o_second', unionid: 'un_same', appid: B }), /E11000/);
      await users().create({ openId: 'o_third', appid: B }); // users without unionid are not constrained
      await users().create({ openId: 'o_fourth', appid: B });
    });

    it('content checks name the user by the openid of the token\'s app', async () => {
      const { a, b } = person();
      await a.login();
      const inB = await b.login();
      // The double answers 40003 for an openid it does not know in the app of the access_token.
      const res = await post(PROFILE, { nickName: '商家小王' }, inB.token).expect(200);
      assert.equal(res.body.userInfo.nickName, '商家小王');
    });
  });

  describe('one number, one user', () => {
    it('the number bound in A, bound again in B by the same user: 200; the platform user holds a link per app', async () => {
      const { a, b } = person();
      const inA = await a.login(true);
      const inB = await b.login();
      await post(BIND, { code: wechat().issuePhoneCode(A, '13900000001') }, inA.token).expect(200);
      await post(BIND, { code: wechat().issuePhoneCode(B, '13900000001') }, inB.token).expect(200);
      const basic = await basics().findOne({ phone: '13900000001' }).lean();
      assert.equal(basic?.wx_apps?.[A]?.openId, a.openid);
      assert.equal(basic?.wx_apps?.[B]?.openId, b.openid);
      assert.equal(basic?.wx_openId, b.openid, 'the seed\'s fields: the latest bind\'s link, whole');
      // Another person binding it, in either app: 409, nothing changed.
      const other = new MiniProgram(app, undefined, { appid: B, unionid: null });
      const otherLogin = await other.login();
      const taken = await post(BIND, { code: wechat().issuePhoneCode(B, '13900000001') }, otherLogin.token).expect(409);
      assert.equal(taken.body.code, 'PHONE_TAKEN');
      assert.equal((await basics().findOne({ phone: '13900000001' }).lean())?.wx_apps?.[B]?.openId, b.openid);
    });

    it('deleting the account removes the person\'s link of every app from the platform user', async () => {
      const { a, b } = person();
      const inA = await a.login();
      const inB = await b.login();
      await post(BIND, { code: wechat().issuePhoneCode(A, '13900000002') }, inA.token).expect(200);
      await post(BIND, { code: wechat().issuePhoneCode(B, '13900000002') }, inB.token).expect(200);
      await app.httpRequest().delete('/api/v1/mp/account/user').set('authorization', `Bearer ${inB.token}`)
        .expect(204);
      const basic = await basics().findOne({ phone: '13900000002' }).lean();
      assert.equal(basic?.wx_openId, undefined);
      assert.deepEqual(basic?.wx_apps ?? {}, {});
    });
  });

  it('a token of an app no longer served: 401', async () => {
    const { b } = person();
    const inB = await b.login();
    await get(INFO, inB.token).expect(200);
    mm(app.config.wxmp, 'apps', app.config.wxmp.apps.filter(x => x.appid !== B));
    const res = await get(INFO, inB.token).expect(401);
    assert.equal(res.body.code, 'UNAUTHORIZED');
    assert.match(res.body.message, /no longer served/);
  });

  describe('the access_token per app', () => {
    beforeEach(() => mm(app.config.internal, 'keys', [{ name: 'order-service', key: KEY }]));
    afterEach(() => resetTokens(app));

    it('each app\'s token is fetched under its own lease (one upstream call per app) and served by ?appid=', async () => {
      await resetTokens(app);
      const read = (query: string) => app.httpRequest().get(`${INTERNAL_TOKEN}${query}`).set('authorization', `Bearer ${KEY}`);
      const [ ta, tb ] = await Promise.all([ read(`?appid=${A}`).expect(200), read(`?appid=${B}`).expect(200) ]);
      assert.notEqual(ta.body.access_token, tb.body.access_token);
      assert.equal(wechat().count('/cgi-bin/token'), 2, 'one call per app');
      await Promise.all([ read(`?appid=${A}`).expect(200), read(`?appid=${B}`).expect(200) ]);
      assert.equal(wechat().count('/cgi-bin/token'), 2, 'then served from the store');
      const stored = await app.mockContext().models.Auth.find({}).lean();
      assert.deepEqual(stored.map(r => r.appid).sort(), [ A, B ].sort());
      assert.equal((await read('').expect(400)).body.code, 'APP_REQUIRED');
      assert.equal((await read('?appid=wx00000000000000000000').expect(400)).body.code, 'UNKNOWN_APP');
      // A rejected token of B is refreshed for B only.
      const refreshed = await app.httpRequest().post(`${INTERNAL_TOKEN}/refresh?appid=${B}`).set('authorization', `Bearer ${KEY}`)
        .send({ access_token: 'AT_not_current' })
        .expect(200);
      assert.equal(refreshed.body.access_token, tb.body.access_token, 'a stale report: the current token, no call');
      // The body and the query naming two apps: refused, nothing refreshed.
      const conflicting = await app.httpRequest().post(`${INTERNAL_TOKEN}/refresh?appid=${A}`).set('authorization', `Bearer ${KEY}`)
        .send({ access_token: 'AT_not_current', appid: B })
        .expect(400);
      assert.equal(conflicting.body.code, 'INVALID_PARAM');
    });

    it('/health lists each app\'s token state', async () => {
      await resetTokens(app);
      const ctx = app.mockContext();
      ctx.wxAppid = B;
      await ctx.service.wxminiprogram.auth.checkToken();
      const res = await app.httpRequest().get('/health');
      const apps = res.body.apps as { appid: string; name: string; wxToken: string }[];
      assert.deepEqual(apps.map(x => [ x.appid, x.name ]), [[ A, 'customer' ], [ B, 'merchant' ]]);
      assert.equal(apps.find(x => x.appid === B)?.wxToken, 'ok');
      assert.equal(apps.find(x => x.appid === A)?.wxToken, 'missing');
      assert.equal(res.body.wxToken, 'missing', 'the top-level state is the worst app\'s');
    });
  });

  describe('the message push per app', () => {
    let server: { url: string; close: () => Promise<void> };
    const events = () => app.mockContext().models.PushEvent;
    const message = () => ({
      ToUserName: 'gh_merchant000001', FromUserName: `o_${crypto.randomBytes(6).toString('hex')}`, CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'text', Content: 'hi', MsgId: String(crypto.randomInt(1e12)),
    });
    before(async () => {
      server = await listen(app);
    });
    after(() => server.close());
    afterEach(async () => {
      await events().deleteMany({});
      await app.mockContext().models.PushNonce.deleteMany({});
    });

    it('/push/<appid> checks that app\'s Token and EncodingAESKey and stores the message as that app\'s', async () => {
      const msg = message();
      const record = await wechat().security.push(B, { url: `${server.url}/api/v1/mp/wechat/push/${B}`, token: B_PUSH.token, aesKey: B_PUSH.aesKey, format: 'json' }, msg);
      assert.equal(record.lastAnswer, '200 success');
      const stored = await events().findById(`${B}:msg:${msg.MsgId}`).lean();
      assert.equal(stored?.appid, B);
    });

    it('refuses a push signed with another app\'s Token, or carrying another AppID inside; 404 for an app not served', async () => {
      const toA = await wechat().security.push(B, { url: `${server.url}/api/v1/mp/wechat/push/${A}`, token: B_PUSH.token, aesKey: B_PUSH.aesKey, format: 'json' }, message());
      assert.match(toA.lastAnswer, /^401/, 'B\'s signature on A\'s URL');
      const aInside = await wechat().security.push(A, { url: `${server.url}/api/v1/mp/wechat/push/${B}`, token: B_PUSH.token, aesKey: B_PUSH.aesKey, format: 'json' }, message());
      assert.match(aInside.lastAnswer, /^400/, 'A\'s AppID inside a push to B\'s URL');
      const unknown = await wechat().security.push(B, { url: `${server.url}/api/v1/mp/wechat/push/wx00000000000000000000`, token: B_PUSH.token, aesKey: B_PUSH.aesKey, format: 'json' }, message());
      assert.match(unknown.lastAnswer, /^404/);
      assert.equal(await events().countDocuments({}), 0, 'nothing stored');
    });
  });

  describe('upgrade from the one-app release', () => {
    const PHONE = '13911112222';
    /** A user, platform user and token exactly as the one-app release wrote them. */
    async function oneAppReleaseData() {
      const now = new Date();
      const _id = new (app.mongoose.Types.ObjectId)();
      const openid = `o_legacy_${crypto.randomBytes(4).toString('hex')}`;
      const unionid = `un_legacy_${crypto.randomBytes(4).toString('hex')}`;
      await users().collection.insertOne({
        _id, openId: openid, unionid, isWXAuth: true, wxUserInfo: { nickName: '老用户', gender: 2, city: 'Hangzhou' },
        telphone: PHONE, createdAt: now, updatedAt: now, __v: 0,
      });
      await basics().collection.insertOne({ phone: PHONE, wx_openId: openid, wx_UserInfo: { nickName: '老用户', gender: 2, city: 'Hangzhou' }, wx_unionid: unionid, createdAt: now, updatedAt: now, __v: 0 });
      const token = jwt.sign({ uid: _id.toString(), isWXAuth: true, openId: openid, mid: null, role: null }, app.config.jwt.secret, { algorithm: 'HS256', expiresIn: 3600 });
      return { uid: _id.toString(), openid, unionid, token };
    }

    it('one app still configured: the old user, token and platform user serve on; a login finds the same user', async () => {
      mm(app.config.wxmp, 'apps', []);
      const old = await oneAppReleaseData();
      const info = await get(INFO, old.token).expect(200);
      assert.deepEqual(info.body.apps, [ A ]);
      assert.equal(info.body.userInfo.telphone, PHONE);
      const again = await new MiniProgram(app, old.openid, { unionid: old.unionid }).login();
      assert.equal(again.userInfo.uid, old.uid);
      assert.equal(claimsOf(again.token).appid, A);
      assert.equal(await users().countDocuments({}), 1);
    });

    it('a second app added: old tokens act for the first app, and the person\'s login in the new app is the same user', async () => {
      const old = await oneAppReleaseData();
      const info = await get(INFO, old.token).expect(200);
      assert.deepEqual(info.body.apps, [ A ]);
      const refreshed = await get(REFRESH, old.token).expect(200);
      assert.deepEqual([ claimsOf(refreshed.body.token).appid, claimsOf(refreshed.body.token).openId ], [ A, old.openid ]);
      const inB = await new MiniProgram(app, undefined, { appid: B, unionid: old.unionid }).login();
      assert.equal(inB.userInfo.uid, old.uid, 'one person, one user');
      assert.equal(inB.userInfo.telphone, PHONE);
      assert.deepEqual((inB as unknown as { apps: string[] }).apps.sort(), [ A, B ].sort());
      // The number the person bound in the one-app release, bound from the new app: 200.
      await post(BIND, { code: wechat().issuePhoneCode(B, PHONE) }, inB.token).expect(200);
      const basic = await basics().findOne({ phone: PHONE }).lean();
      assert.ok(basic?.wx_apps?.[B]);
      const again = await new MiniProgram(app, old.openid, { appid: A, unionid: old.unionid }).login();
      assert.equal(again.userInfo.uid, old.uid, 'the old openid still finds the user');
      assert.equal(await users().countDocuments({}), 1);
    });

    it('the stored access_token of the one-app release is served for the first app without a new fetch', async () => {
      await resetTokens(app);
      mm(app.config.internal, 'keys', [{ name: 'order-service', key: KEY }]);
      const now = new Date();
      await app.mockContext().models.Auth.collection.insertOne({ type: 1, appid: A, access_token: 'AT_from_the_one_app_release', expires_in: 7200, endTime: now, updateTime: now, created: now, updated: now, __v: 0 });
      const res = await app.httpRequest().get(`${INTERNAL_TOKEN}?appid=${A}`).set('authorization', `Bearer ${KEY}`)
        .expect(200);
      assert.equal(res.body.access_token, 'AT_from_the_one_app_release');
      assert.equal(wechat().count('/cgi-bin/token'), 0);
      await resetTokens(app);
    });
  });
});
