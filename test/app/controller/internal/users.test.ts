import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { parseInternalKeys } from '../../../../config/env';
import { ISSUED_SESSION_KEYS } from '../../../../sandbox/wechat/server';
import { MiniProgram } from '../../../helpers/client';
import { wechat } from '../../../helpers/sandbox';

const SUPPORT = 's'.repeat(40);
const READER = 'r'.repeat(40);
const TOKEN_ONLY = 't'.repeat(40);
const LEGACY = 'l'.repeat(40);
const USERS = '/api/v1/internal/users';

describe('test/app/controller/internal/users.test.ts (support: scoped keys, lookup, ban, forced logout, the audit trail)', () => {
  const models = () => app.mockContext().models;
  const as = (key: string) => ({
    get: (path: string) => app.httpRequest().get(path).set('authorization', `Bearer ${key}`),
    post: (path: string, body: object = {}) => app.httpRequest().post(path).set('authorization', `Bearer ${key}`)
      .send(body),
    delete: (path: string) => app.httpRequest().delete(path).set('authorization', `Bearer ${key}`),
  });
  const support = as(SUPPORT);
  const info = (token: string) => app.httpRequest().get('/api/v1/mp/account/user/info').set('authorization', `Bearer ${token}`);

  beforeEach(() => {
    mm(app.config.internal, 'keys', [
      { name: 'support-desk', key: SUPPORT, scopes: [ 'users:read', 'users:write' ] },
      { name: 'crm', key: READER, scopes: [ 'users:read' ] },
      { name: 'orders', key: TOKEN_ONLY, scopes: [ 'token' ] },
      { name: 'old-service', key: LEGACY },
    ]);
  });
  afterEach(async () => {
    const m = models();
    for (const model of [ m.Account.User, m.Basics.User.User, m.Session, m.AuditEvent ]) await (model as { deleteMany(f: object): Promise<unknown> }).deleteMany({});
  });

  describe('scoped keys', () => {
    it('INTERNAL_API_KEYS takes name:key:scope+scope; a key without scopes keeps token and metrics; an unknown scope is a problem', () => {
      const { keys, problems } = parseInternalKeys(`desk:${SUPPORT}:users:read+users:write, prom:${LEGACY}, odd:${'x'.repeat(36)}:v2`);
      assert.deepEqual(keys, [
        { name: 'desk', key: SUPPORT, scopes: [ 'users:read', 'users:write' ] },
        { name: 'prom', key: LEGACY },
        { name: 'odd', key: `${'x'.repeat(36)}:v2` },
      ]);
      assert.deepEqual(problems, []);
      assert.deepEqual(parseInternalKeys(`desk:${SUPPORT}:users:admin`).problems, [ 'INTERNAL_API_KEYS: the key of "desk" names an unknown scope (known: token, metrics, users:read, users:write, messages)' ]);
    });

    it('a key outside its scope: 403 FORBIDDEN_SCOPE naming the scope; an unscoped key keeps the token and /metrics only', async () => {
      const { userInfo } = await new MiniProgram(app).login();
      const refused = await as(TOKEN_ONLY).get(`${USERS}/${userInfo.uid}`).expect(403);
      assert.equal(refused.body.code, 'FORBIDDEN_SCOPE');
      assert.match(refused.body.message, /users:read/);
      await as(TOKEN_ONLY).get('/metrics').expect(403);
      await as(LEGACY).get('/api/v1/internal/wx/access_token').expect(200);
      await as(LEGACY).get('/metrics').expect(200);
      assert.equal((await as(LEGACY).get(`${USERS}/${userInfo.uid}`).expect(403)).body.code, 'FORBIDDEN_SCOPE');
      assert.equal((await as(READER).post(`${USERS}/${userInfo.uid}/ban`).expect(403)).body.message.includes('users:write'), true);
      await as(READER).get(`${USERS}/${userInfo.uid}`).expect(200);
      assert.equal((await models().Account.User.findById(userInfo.uid).lean())?.bannedAt, undefined, 'the refused ban changed nothing');
    });
  });

  describe('lookup', () => {
    it('by uid, openid (of an app), phone and unionid; 404 for no such user, 400 for no or several fields', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login(true);
      await app.httpRequest().post('/api/v1/mp/account/user/bindPhone').set('authorization', `Bearer ${token}`)
        .send({ code: wechat().issuePhoneCode(app.config.wxmp.appid, '13500000001') })
        .expect(200);
      const byUid = await support.get(`${USERS}/${userInfo.uid}`).expect(200);
      assert.equal(byUid.body.telphone, '13500000001');
      assert.equal(byUid.body.status, 'active');
      assert.equal(byUid.body.liveSessions, 1);
      assert.deepEqual(byUid.body.apps, [{ appid: app.config.wxmp.appid, openid: mp.openid }]);
      for (const query of [ `openid=${mp.openid}`, `openid=${mp.openid}&appid=${app.config.wxmp.appid}`, 'phone=13500000001', `unionid=${wechat().unionidFor(mp.openid)}` ]) {
        const found = await support.get(`${USERS}?${query}`).expect(200);
        assert.deepEqual(found.body.users.map((u: { uid: string }) => u.uid), [ userInfo.uid ], query);
      }
      assert.deepEqual((await support.get(`${USERS}?openid=${mp.openid}&appid=wxsandbox0000000002`).expect(200)).body.users, [], 'not that app\'s openid');
      assert.deepEqual((await support.get(`${USERS}?phone=13599999999`).expect(200)).body.users, []);
      assert.equal((await support.get(`${USERS}/0123456789abcdef01234567`).expect(404)).body.code, 'NOT_FOUND');
      assert.equal((await support.get(`${USERS}/not-an-id`).expect(400)).body.code, 'INVALID_PARAM');
      await support.get(USERS).expect(400);
      await support.get(`${USERS}?phone=1&unionid=2`).expect(400);
    });
  });

  describe('actions', () => {
    it('ban: the next login and every authenticated call answer 403 USER_BANNED; unban: 200 again', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      const banned = await support.post(`${USERS}/${userInfo.uid}/ban`, { reason: 'spam, ticket #4711' }).expect(200);
      assert.equal(banned.body.status, 'banned');
      assert.deepEqual([ banned.body.banned.reason, banned.body.banned.by ], [ 'spam, ticket #4711', 'support-desk' ]);
      assert.equal((await info(token).expect(403)).body.code, 'USER_BANNED');
      const login = await app.httpRequest().post('/api/v1/mp/account/user/auth').send({ jscode: mp.loginCode() })
        .expect(403);
      assert.equal(login.body.code, 'USER_BANNED');
      // A token from before sessions is refused too (its user is read).
      const old = jwt.sign({ uid: userInfo.uid, isWXAuth: false, openId: mp.openid, mid: null, role: null }, app.config.jwt.secret, { algorithm: 'HS256', expiresIn: 600 });
      assert.equal((await info(old).expect(403)).body.code, 'USER_BANNED');
      await support.post(`${USERS}/${userInfo.uid}/unban`, { reason: 'appeal accepted' }).expect(200);
      const again = await mp.login();
      await info(again.token).expect(200);
      await info(old).expect(200);
      assert.equal((await info(token).expect(401)).body.code, 'SESSION_ENDED', 'the sessions the ban ended stay ended');
    });

    it('forced logout ends every session of the user (both phones); they can log in again', async () => {
      const mp = new MiniProgram(app);
      const a = await mp.login();
      const b = await mp.login();
      const res = await support.post(`${USERS}/${a.userInfo.uid}/sessions/end`, { reason: 'phone stolen' }).expect(200);
      assert.equal(res.body.ended, 2);
      for (const t of [ a.token, b.token ]) assert.equal((await info(t).expect(401)).body.code, 'SESSION_ENDED');
      await info((await mp.login()).token).expect(200);
    });

    it('delete through support: the same deletion as the user\'s own, recorded with the key and the reason', async () => {
      const { token, userInfo } = await new MiniProgram(app).login();
      await support.delete(`${USERS}/${userInfo.uid}?reason=${encodeURIComponent('deletion request by e-mail')}`).expect(204);
      assert.equal((await info(token).expect(401)).body.code, 'USER_NOT_FOUND');
      await support.get(`${USERS}/${userInfo.uid}`).expect(404);
      const trail = await support.get(`${USERS}/${userInfo.uid}/events`).expect(200);
      assert.deepEqual([ trail.body.events[0].type, trail.body.events[0].actor, trail.body.events[0].reason ], [ 'account_deleted', 'key:support-desk', 'deletion request by e-mail' ]);
    });
  });

  describe('the audit trail', () => {
    it('lists login, bind, ban, newest first, with the key\'s name; pages with limit and before', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await app.httpRequest().post('/api/v1/mp/account/user/auth').set('user-agent', 'WeChat/8.0 MiniProgram')
        .send({ jscode: mp.loginCode() })
        .then(r => r.body as { token: string; userInfo: { uid: string } });
      await app.httpRequest().post('/api/v1/mp/account/user/bindPhone').set('authorization', `Bearer ${token}`)
        .send({ code: wechat().issuePhoneCode(app.config.wxmp.appid, '13500000002') })
        .expect(200);
      await support.post(`${USERS}/${userInfo.uid}/ban`, { reason: 'fraud' }).expect(200);
      const all = await as(READER).get(`${USERS}/${userInfo.uid}/events`).expect(200);
      const events = all.body.events as { id: string; type: string; actor: string; ip?: string; userAgent?: string; detail?: Record<string, unknown>; reason?: string }[];
      assert.deepEqual(events.map(e => e.type), [ 'user_banned', 'phone_bound', 'login' ]);
      assert.deepEqual(events.map(e => e.actor), [ 'key:support-desk', 'user', 'user' ]);
      assert.equal(events[0].reason, 'fraud');
      assert.equal(events[1].detail?.phone, '135****0002', 'the number masked');
      assert.equal(events[2].ip, '127.0.0.0/24');
      assert.equal(events[2].userAgent, 'WeChat/8.0 MiniProgram');
      const page1 = await support.get(`${USERS}/${userInfo.uid}/events?limit=2`).expect(200);
      assert.deepEqual(page1.body.events.map((e: { type: string }) => e.type), [ 'user_banned', 'phone_bound' ]);
      const page2 = await support.get(`${USERS}/${userInfo.uid}/events?limit=2&before=${page1.body.next}`).expect(200);
      assert.deepEqual(page2.body.events.map((e: { type: string }) => e.type), [ 'login' ]);
      assert.equal(page2.body.next, null);
      await support.get(`${USERS}/${userInfo.uid}/events?limit=0`).expect(400);
      await support.get(`${USERS}/${userInfo.uid}/events?before=yesterday`).expect(400);
    });

    it('records refused logins with their code, and holds no secret, code, session_key, token or full number', async () => {
      const mp = new MiniProgram(app);
      const first = await mp.login(true);
      await app.httpRequest().post('/api/v1/mp/account/user/bindPhone').set('authorization', `Bearer ${first.token}`)
        .send({ code: wechat().issuePhoneCode(app.config.wxmp.appid, '13500000003') })
        .expect(200);
      const refresh = await app.httpRequest().get('/api/v1/mp/account/refreshToken').set('authorization', `Bearer ${first.token}`)
        .expect(200);
      await support.post(`${USERS}/${first.userInfo.uid}/ban`).expect(200);
      const code = mp.loginCode();
      await app.httpRequest().post('/api/v1/mp/account/user/auth').send({ jscode: code })
        .expect(403);
      const trail = await support.get(`${USERS}/${first.userInfo.uid}/events`).expect(200);
      assert.deepEqual(trail.body.events[0].type, 'login_refused');
      assert.deepEqual(trail.body.events[0].code, 'USER_BANNED');
      const stored = JSON.stringify(await models().AuditEvent.find({}).lean());
      const secrets = [ app.config.wxmp.secret, app.config.jwt.secret, ...ISSUED_SESSION_KEYS, first.token, refresh.body.token, code, '13500000003', SUPPORT, READER ];
      for (const secret of secrets) assert.ok(!stored.includes(secret), `the trail holds ${secret.slice(0, 6)}…`);
    });

    it('is kept AUDIT_RETENTION_DAYS (180 by default) by a TTL index', async () => {
      await models().AuditEvent.init();
      const indexes = await models().AuditEvent.collection.listIndexes().toArray();
      const ttl = indexes.find(i => i.key.at === 1);
      assert.equal(ttl?.expireAfterSeconds, 180 * 86_400);
    });
  });
});
