import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import sharp from 'sharp';
import { ISSUED_SESSION_KEYS } from '../../../../../sandbox/wechat/server';
import { listen, MiniProgram } from '../../../../helpers/client';
import { pushTargetOf, until, wechat } from '../../../../helpers/sandbox';

const INFO = '/api/v1/mp/account/user/info';
const SESSION = '/api/v1/mp/account/session';
const REFRESH = '/api/v1/mp/account/refreshToken';
const LOGOUT = '/api/v1/mp/account/user/logout';
const SESSIONS = '/api/v1/mp/account/user/sessions';
const EXPORT = '/api/v1/mp/account/user/export';
const BIND = '/api/v1/mp/account/user/bindPhone';
const PROFILE = '/api/v1/mp/account/user/profile';
const AVATAR = '/api/v1/mp/account/user/avatar';

describe('test/app/controller/mp/account/sessions.test.ts (sessions, WeChat\'s account events, the data export)', () => {
  let server: { url: string; close: () => Promise<void> };
  const models = () => app.mockContext().models;
  const get = (path: string, token: string) => app.httpRequest().get(path).set('authorization', `Bearer ${token}`);
  const post = (path: string, body: object, token: string) => app.httpRequest().post(path).set('authorization', `Bearer ${token}`)
    .send(body);
  const claimsOf = (token: string) => jwt.verify(token, app.config.jwt.secret) as Record<string, unknown>;

  before(async () => {
    server = await listen(app);
  });
  after(() => server.close());
  beforeEach(() => {
    mm(app.config.avatar, 'publicBaseUrl', server.url);
    wechat().setPushTarget(app.config.wxmp.appid, pushTargetOf(app, server.url));
  });
  afterEach(async () => {
    await wechat().security.settled();
    const m = models();
    for (const model of [ m.Account.User, m.Basics.User.User, m.Session, m.PushEvent, m.MediaCheck, m.PushNonce ]) await (model as { deleteMany(f: object): Promise<unknown> }).deleteMany({});
  });

  describe('sessions', () => {
    it('a login opens a session; the list shows each login, the caller\'s marked; ending one leaves the other working', async () => {
      const mp = new MiniProgram(app);
      const phone = await mp.login();
      const tablet = await app.httpRequest().post('/api/v1/mp/account/user/auth').set('user-agent', 'Tablet/1.0')
        .send({ jscode: mp.loginCode() })
        .expect(200);
      assert.equal(tablet.body.userInfo.uid, phone.userInfo.uid);
      const sidPhone = claimsOf(phone.token).sid as string;
      const sidTablet = claimsOf(tablet.body.token).sid as string;
      assert.match(sidPhone, /^[A-Za-z0-9_-]{22}$/);
      const list = await get(SESSIONS, phone.token).expect(200);
      assert.deepEqual(list.body.sessions.map((s: { sid: string; current: boolean }) => [ s.sid, s.current ]), [[ sidTablet, false ], [ sidPhone, true ]]);
      const tabletView = list.body.sessions[0];
      assert.equal(tabletView.userAgent, 'Tablet/1.0');
      assert.equal(tabletView.ip, '127.0.0.0/24', 'the address masked to /24');
      assert.equal(tabletView.appid, app.config.wxmp.appid);
      // End the tablet's session from the phone.
      await app.httpRequest().delete(`${SESSIONS}/${sidTablet}`).set('authorization', `Bearer ${phone.token}`)
        .expect(204);
      const refused = await get(INFO, tablet.body.token).expect(401);
      assert.equal(refused.body.code, 'SESSION_ENDED');
      await get(INFO, phone.token).expect(200);
      assert.deepEqual((await get(SESSIONS, phone.token).expect(200)).body.sessions.map((s: { sid: string }) => s.sid), [ sidPhone ]);
    });

    it('another user\'s sid, or one already ended, is a 404 and ends nothing', async () => {
      const alice = await new MiniProgram(app).login();
      const bob = await new MiniProgram(app).login();
      const bobSid = claimsOf(bob.token).sid as string;
      const res = await app.httpRequest().delete(`${SESSIONS}/${bobSid}`).set('authorization', `Bearer ${alice.token}`)
        .expect(404);
      assert.equal(res.body.code, 'NOT_FOUND');
      await get(INFO, bob.token).expect(200);
      await app.httpRequest().delete(`${SESSIONS}/no-such-session`).set('authorization', `Bearer ${alice.token}`)
        .expect(404);
    });

    it('logout: 204, then every token of the session (its refreshes included) gets 401 SESSION_ENDED, /session too', async () => {
      const { token } = await new MiniProgram(app).login();
      const refreshed = (await get(REFRESH, token).expect(200)).body.token as string;
      assert.equal(claimsOf(refreshed).sid, claimsOf(token).sid, 'a refresh keeps the session');
      await app.httpRequest().post(LOGOUT).set('authorization', `Bearer ${refreshed}`)
        .expect(204);
      for (const t of [ token, refreshed ]) {
        for (const path of [ INFO, SESSION, REFRESH ]) assert.equal((await get(path, t).expect(401)).body.code, 'SESSION_ENDED', path);
      }
    });

    it('another worker learns of an ended session within config.session.cacheMs (a session read is trusted that long, no longer)', async () => {
      mm(app.config.session, 'cacheMs', 400);
      const { token } = await new MiniProgram(app).login();
      await get(INFO, token).expect(200); // read and cached by this process
      // Ended elsewhere: another worker or host writes it; this process has not heard.
      await models().Session.updateOne({ _id: claimsOf(token).sid }, { $set: { endedAt: new Date(), endReason: 'logout' } });
      await get(INFO, token).expect(200);
      await new Promise(r => setTimeout(r, 450));
      assert.equal((await get(INFO, token).expect(401)).body.code, 'SESSION_ENDED');
    });

    it('a session cannot be refreshed past SESSION_MAX_AGE: 401 SESSION_EXPIRED', async () => {
      mm(app.config.session, 'maxAgeSeconds', 1);
      mm(app.config.session, 'cacheMs', 0);
      const { token } = await new MiniProgram(app).login();
      const refreshed = (await get(REFRESH, token).expect(200)).body.token as string;
      await new Promise(r => setTimeout(r, 1100));
      for (const t of [ token, refreshed ]) assert.equal((await get(REFRESH, t).expect(401)).body.code, 'SESSION_EXPIRED');
      assert.equal((await get(INFO, refreshed).expect(401)).body.code, 'SESSION_EXPIRED');
    });

    it('tokens issued before sessions (no sid) keep working until they expire; a refresh gives them a session', async () => {
      const mp = new MiniProgram(app);
      const { userInfo } = await mp.login();
      const old = jwt.sign({ uid: userInfo.uid, isWXAuth: false, openId: mp.openid, mid: null, role: null }, app.config.jwt.secret, { algorithm: 'HS256', expiresIn: 3600 });
      await get(INFO, old).expect(200);
      await get(SESSION, old).expect(200);
      const refreshed = (await get(REFRESH, old).expect(200)).body.token as string;
      assert.match(String(claimsOf(refreshed).sid), /^[A-Za-z0-9_-]{22}$/);
      await app.httpRequest().post(LOGOUT).set('authorization', `Bearer ${old}`)
        .expect(204);
      // A deleted user's old token: /session reads the user now, as the README promises.
      await app.httpRequest().delete('/api/v1/mp/account/user').set('authorization', `Bearer ${refreshed}`)
        .expect(204);
      assert.equal((await get(SESSION, old).expect(401)).body.code, 'USER_NOT_FOUND');
      assert.equal((await get(SESSION, refreshed).expect(401)).body.code, 'USER_NOT_FOUND');
    });
  });

  describe('WeChat\'s account events (pushed by the double, safe mode)', () => {
    const appid = () => app.config.wxmp.appid;
    const jpeg = () => sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 20, b: 30 } } }).jpeg().toBuffer();

    /** A user with a phone, a nickname and an uploaded avatar (its media check passed). */
    async function fullUser(phone: string) {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      await post(BIND, { code: wechat().issuePhoneCode(appid(), phone) }, token).expect(200);
      await post(PROFILE, { nickName: `用户${phone.slice(-4)}` }, token).expect(200);
      const form = new FormData();
      form.append('avatar', new Blob([ new Uint8Array(await jpeg()) ]), 'a.jpg');
      const up = await fetch(`${server.url}${AVATAR}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      assert.equal(up.status, 200, await up.clone().text());
      await wechat().security.settled();
      return { mp, token, uid: userInfo.uid as string, phone };
    }
    const userDoc = (uid: string) => models().Account.User.findById(uid).lean();
    const avatarFiles = (uid: string) => models().Account.User.db.collection('avatars.files').countDocuments({ 'metadata.uid': uid });
    const handled = async () => {
      await until(async () => (await models().PushEvent.countDocuments({ event: /^user_/, status: 'received' })) === 0, 3000, 'the event to be handled');
    };

    it('user_authorization_revoke 8 (phone): the number is unbound and its platform link released; nothing else, nobody else', async () => {
      const a = await fullUser('13700000001');
      const b = await fullUser('13700000002');
      const record = await wechat().pushAccountEvent(appid(), a.mp.openid, 'user_authorization_revoke', '8');
      assert.equal(record?.lastAnswer, '200 success');
      await handled();
      const after = await userDoc(a.uid);
      assert.equal(after?.telphone, undefined);
      assert.equal(after?.wxUserInfo?.nickName, '用户0001', 'the nickname was not withdrawn');
      const basic = await models().Basics.User.User.findOne({ phone: a.phone }).lean();
      assert.equal(basic?.wx_openId, undefined);
      assert.equal((await userDoc(b.uid))?.telphone, b.phone);
      // The number is free again.
      const other = await new MiniProgram(app).login();
      await post(BIND, { code: wechat().issuePhoneCode(appid(), a.phone) }, other.token).expect(200);
    });

    it('user_authorization_revoke 6 (nickname and avatar): both cleared, the avatar files deleted; nobody else touched', async () => {
      const a = await fullUser('13700000003');
      const b = await fullUser('13700000004');
      assert.equal(await avatarFiles(a.uid), 1);
      await wechat().pushAccountEvent(appid(), a.mp.openid, 'user_authorization_revoke', '6');
      await handled();
      const after = await userDoc(a.uid);
      assert.equal(after?.wxUserInfo?.nickName, undefined);
      assert.equal(after?.wxUserInfo?.avatarUrl, undefined);
      assert.equal(after?.telphone, a.phone, 'the phone was not withdrawn');
      assert.equal(await avatarFiles(a.uid), 0);
      assert.equal(await avatarFiles(b.uid), 1);
      assert.ok((await userDoc(b.uid))?.wxUserInfo?.nickName);
    });

    it('user_info_modified: nickname and avatar cleared so the app asks again; replayed, it is handled once', async () => {
      const a = await fullUser('13700000005');
      const message = { ToUserName: 'gh_sandbox0000001', FromUserName: 'oPlatformPushService0000000', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event', Event: 'user_info_modified', OpenID: a.mp.openid, AppID: appid() };
      const target = pushTargetOf(app, server.url);
      await wechat().security.push(appid(), target, message);
      await handled();
      assert.equal((await userDoc(a.uid))?.wxUserInfo?.nickName, undefined);
      await post(PROFILE, { nickName: '新名字' }, a.token).expect(200);
      const replay = await wechat().security.push(appid(), target, message);
      assert.equal(replay.lastAnswer, '200 success');
      await new Promise(r => setTimeout(r, 200));
      assert.equal((await userDoc(a.uid))?.wxUserInfo?.nickName, '新名字', 'the replay changed nothing');
      assert.equal(await models().PushEvent.countDocuments({ event: 'user_info_modified' }), 1);
    });

    it('user_authorization_cancellation: the account is deleted as DELETE /user does and its sessions end; nobody else touched', async () => {
      const a = await fullUser('13700000006');
      const b = await fullUser('13700000007');
      await wechat().pushAccountEvent(appid(), a.mp.openid, 'user_authorization_cancellation');
      await handled();
      assert.equal(await userDoc(a.uid), null);
      assert.equal((await get(INFO, a.token).expect(401)).body.code, 'USER_NOT_FOUND');
      assert.equal(await avatarFiles(a.uid), 0);
      assert.equal(await models().Session.countDocuments({ uid: a.uid, endedAt: { $exists: false } }), 0);
      await get(INFO, b.token).expect(200);
    });

    it('an event about an openid not known here: stored, answered success, nothing else', async () => {
      const a = await fullUser('13700000008');
      const record = await wechat().pushAccountEvent(appid(), `o_stranger_${crypto.randomBytes(4).toString('hex')}`, 'user_authorization_cancellation');
      assert.equal(record?.lastAnswer, '200 success');
      await until(async () => (await models().PushEvent.findOne({ event: 'user_authorization_cancellation' }).lean())?.status === 'handled', 3000, 'handled');
      await get(INFO, a.token).expect(200);
    });
  });

  describe('a copy of one\'s data', () => {
    it('holds the user\'s account, apps, phone, sessions and events, as a download; nothing of another user, no secret', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login(true);
      await post(BIND, { code: wechat().issuePhoneCode(app.config.wxmp.appid, '13600000001') }, token).expect(200);
      const other = new MiniProgram(app);
      const otherLogin = await other.login(true);
      await post(BIND, { code: wechat().issuePhoneCode(app.config.wxmp.appid, '13600000002') }, otherLogin.token).expect(200);
      await wechat().pushAccountEvent(app.config.wxmp.appid, mp.openid, 'user_authorization_revoke', '12');
      await wechat().pushAccountEvent(app.config.wxmp.appid, other.openid, 'user_authorization_revoke', '12');
      const res = await get(EXPORT, token).expect(200);
      assert.match(String(res.headers['content-disposition']), new RegExp(`^attachment; filename="wxmp-data-${userInfo.uid}\\.json"$`));
      assert.equal(res.headers['cache-control'], 'no-store');
      const data = res.body;
      assert.equal(data.user.uid, userInfo.uid);
      assert.equal(data.user.telphone, '13600000001');
      assert.deepEqual(data.user.apps, [{ appid: app.config.wxmp.appid, openid: mp.openid }]);
      assert.equal(data.user.unionid, wechat().unionidFor(mp.openid));
      assert.equal(data.user.profile.nickName, '微信用户');
      assert.equal(data.sessions.length, 1);
      assert.equal(data.sessions[0].sid, claimsOf(token).sid);
      assert.equal(data.pushEvents.length, 1);
      assert.equal(data.pushEvents[0].event, 'user_authorization_revoke');
      assert.equal(data.platformUser.phone, '13600000001');
      const text = res.text;
      for (const foreign of [ other.openid, '13600000002', otherLogin.userInfo.uid as string ]) assert.ok(!text.includes(foreign), `${foreign} is another user's`);
      for (const secret of [ ...ISSUED_SESSION_KEYS, app.config.wxmp.secret, app.config.jwt.secret ]) assert.ok(!text.includes(secret), 'no secret');
    });
  });
});
