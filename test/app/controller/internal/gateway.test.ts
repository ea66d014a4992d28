import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { MiniProgram } from '../../../helpers/client';
import { resetTokens, wechat } from '../../../helpers/sandbox';

const KEY = 'm'.repeat(40);
const SEND = '/api/v1/internal/wx/subscribe-messages';
const WXACODE = '/api/v1/internal/wx/wxacode';
const URLLINK = '/api/v1/internal/wx/urllink';
const TEMPLATE = 'TPL_order_shipped';
const DATA = { thing1: { value: '无线耳机' }, character_string2: { value: 'SF1234567890' }, date3: { value: '2026年11月30日' } };

describe('test/app/controller/internal/gateway.test.ts (subscribe messages, mini-program codes, URL links, SDK-shaped tokens)', () => {
  const internal = (path: string, body: object, headers: Record<string, string> = {}) => {
    let req = app.httpRequest().post(path).set('authorization', `Bearer ${KEY}`);
    for (const [ k, v ] of Object.entries(headers)) req = req.set(k, v);
    return req.send(body);
  };
  const accept = (token: string, answers: Record<string, string>) => app.httpRequest().post('/api/v1/mp/account/user/subscriptions')
    .set('authorization', `Bearer ${token}`)
    .send({ errMsg: 'requestSubscribeMessage:ok', ...answers });
  const sends = () => wechat().count('/cgi-bin/message/subscribe/send');

  beforeEach(() => mm(app.config.internal, 'keys', [{ name: 'order-service', key: KEY, scopes: [ 'messages', 'token' ] }]));
  afterEach(async () => {
    const m = app.mockContext().models;
    for (const model of [ m.Account.User, m.Session, m.AuditEvent, m.Subscription, m.MessageSend, m.WxaScene ]) await (model as { deleteMany(f: object): Promise<unknown> }).deleteMany({});
    wechat().clearFaults();
  });

  describe('subscribe messages', () => {
    it('without an accepted subscription: 409 NO_SUBSCRIPTION and no call to WeChat; one accept allows exactly one send', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      const before = sends();
      const refused = await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data: DATA }).expect(409);
      assert.equal(refused.body.code, 'NO_SUBSCRIPTION');
      assert.equal(sends(), before, 'no upstream call');
      const recorded = await accept(token as string, { [TEMPLATE]: 'accept', TPL_reminder: 'reject' }).expect(200);
      assert.deepEqual(recorded.body.subscriptions[TEMPLATE], { status: 'accept', remaining: 1 });
      wechat().gateway.acceptSubscription(mp.appid, mp.openid, TEMPLATE); // WeChat's side of the same tap
      const sent = await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, page: 'pages/order/detail?id=42', data: DATA }).expect(200);
      assert.equal(sent.body.status, 'sent');
      assert.equal(sent.body.remaining, 0);
      const delivered = wechat().gateway.sent.at(-1);
      assert.equal(delivered?.touser, mp.openid);
      assert.deepEqual(delivered?.data, DATA);
      assert.equal((await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data: DATA }).expect(409)).body.code, 'NO_SUBSCRIPTION');
      assert.equal(sends(), before + 1);
    });

    it('a value breaking its key type\'s rule: 400 naming the key, no call to WeChat, the consent kept', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      await accept(token as string, { [TEMPLATE]: 'accept' }).expect(200);
      const before = sends();
      for (const [ data, key ] of [
        [{ thing1: { value: '一二三四五六七八九十一二三四五六七八九十一' } }, 'thing1' ],
        [{ number2: { value: '12a' } }, 'number2' ],
        [{ phrase3: { value: '已发货了吗啊' } }, 'phrase3' ],
        [{ amount4: { value: '¥12.345' } }, 'amount4' ],
        [{ date5: { value: 'tomorrow' } }, 'date5' ],
        [{ colour6: { value: 'red' } }, 'colour6' ],
      ] as const) {
        const res = await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data }).expect(400);
        assert.equal(res.body.code, 'INVALID_PARAM');
        assert.match(res.body.message, new RegExp(key));
      }
      assert.equal(sends(), before);
      const left = await app.mockContext().models.Subscription.findById(`${userInfo.uid}:${mp.appid}:${TEMPLATE}`).lean();
      assert.equal(left?.remaining, 1);
    });

    it('the same Idempotency-Key twice: one send, the same answer', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      await accept(token as string, { [TEMPLATE]: 'accept' }).expect(200);
      await accept(token as string, { [TEMPLATE]: 'accept' }).expect(200);
      wechat().gateway.acceptSubscription(mp.appid, mp.openid, TEMPLATE, 2);
      const before = sends();
      const first = await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data: DATA }, { 'idempotency-key': 'order-42-shipped' }).expect(200);
      const again = await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data: DATA }, { 'idempotency-key': 'order-42-shipped' }).expect(200);
      assert.deepEqual(again.body, first.body);
      assert.equal(sends(), before + 1, 'sent once');
      assert.equal(await app.mockContext().models.MessageSend.countDocuments({ status: 'sent' }), 1);
    });

    it('WeChat\'s 43101 (the user refused): 409, and the template is no longer accepted', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      await accept(token as string, { [TEMPLATE]: 'accept' }).expect(200);
      await accept(token as string, { [TEMPLATE]: 'accept' }).expect(200);
      // WeChat has no consent of theirs (turned off in the settings): 43101.
      const res = await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data: DATA }).expect(409);
      assert.equal(res.body.code, 'NO_SUBSCRIPTION');
      const sub = await app.mockContext().models.Subscription.findById(`${userInfo.uid}:${mp.appid}:${TEMPLATE}`).lean();
      assert.deepEqual([ sub?.status, sub?.remaining ], [ 'reject', 0 ]);
      const before = sends();
      await internal(SEND, { uid: userInfo.uid, template_id: TEMPLATE, data: DATA }).expect(409);
      assert.equal(sends(), before);
      const recorded = await app.mockContext().models.MessageSend.find({}).lean();
      assert.ok(recorded.some(r => r.errcode === 43101 && r.status === 'refused'));
    });

    it('an unknown template: 400 INVALID_TEMPLATE (40037), the consent given back', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login();
      await accept(token as string, { TPL_nonexistent: 'accept' }).expect(200);
      assert.equal((await internal(SEND, { uid: userInfo.uid, template_id: 'TPL_nonexistent', data: DATA }).expect(400)).body.code, 'INVALID_TEMPLATE');
      assert.equal((await app.mockContext().models.Subscription.findById(`${userInfo.uid}:${mp.appid}:TPL_nonexistent`).lean())?.remaining, 1);
    });

    it('needs the messages scope', async () => {
      mm(app.config.internal, 'keys', [{ name: 'order-service', key: KEY, scopes: [ 'token' ] }]);
      const res = await internal(SEND, { uid: '0123456789abcdef01234567', template_id: TEMPLATE, data: DATA }).expect(403);
      assert.match(res.body.message, /messages/);
    });
  });

  describe('mini-program codes', () => {
    it('twice with the same parameters: one call to WeChat, identical PNG bytes; a payload round-trips through its scene', async () => {
      const payload = { campaign: 'double11', inviter: 'u_0123456789abcdef01234567', note: 'forty characters of payload, round trip' };
      const before = wechat().wxacodes;
      const first = await internal(WXACODE, { payload, page: 'pages/poster/index' }).expect(200);
      assert.equal(first.headers['content-type'], 'image/png');
      assert.equal(first.headers['x-wxacode-cache'], 'miss');
      assert.deepEqual([ ...first.body.subarray(0, 8) ], [ 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a ]);
      const second = await internal(WXACODE, { payload, page: 'pages/poster/index' }).expect(200);
      assert.equal(second.headers['x-wxacode-cache'], 'hit');
      assert.ok(Buffer.compare(first.body, second.body) === 0, 'identical bytes');
      assert.equal(wechat().wxacodes, before + 1, 'one upstream call');
      const scene = first.headers['x-wxacode-scene'];
      assert.ok(scene.length <= 32);
      const read = await app.httpRequest().get(`/api/v1/mp/wxacode/scenes/${scene}`).expect(200);
      assert.deepEqual(read.body, { payload });
      await app.httpRequest().get('/api/v1/mp/wxacode/scenes/AAAAAAAAAAAAAAAAAAAAAA').expect(404);
    });

    it('WeChat\'s JSON error is never stored or served as an image; 45009 is a 429 with Retry-After', async () => {
      const bad = await internal(WXACODE, { scene: 'a=1', page: 'pages/not/there' }).expect(400);
      assert.equal(bad.body.code, 'WECHAT_INVALID_PARAM');
      assert.match(bad.body.message, /41030/);
      const files = await app.mockContext().models.Account.User.db.collection('wxacodes.files').countDocuments({});
      wechat().inject({ path: '/wxa/getwxacodeunlimit', kind: 'errcode', errcode: 45009, times: 1 });
      const limited = await internal(WXACODE, { scene: 'rate=1' }).expect(429);
      assert.equal(limited.body.code, 'WECHAT_RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.equal(await app.mockContext().models.Account.User.db.collection('wxacodes.files').countDocuments({}), files, 'nothing stored');
      const ok = await internal(WXACODE, { scene: 'rate=1' }).expect(200);
      assert.equal(ok.headers['content-type'], 'image/png');
      assert.equal((await internal(WXACODE, { scene: 'x', payload: {} }).expect(400)).body.code, 'INVALID_PARAM');
    });
  });

  describe('URL links', () => {
    it('answers WeChat\'s url_link; an expiry past 30 days is refused before WeChat is asked', async () => {
      const link = await internal(URLLINK, { path: 'pages/order/detail', query: 'id=42', expire_interval: 7 }).expect(200);
      assert.match(link.body.url_link, /^https:\/\/wxaurl\.cn\/[A-Za-z0-9_-]+$/);
      const before = wechat().count('/wxa/generate_urllink');
      assert.equal((await internal(URLLINK, { expire_interval: 31 }).expect(400)).body.code, 'INVALID_PARAM');
      assert.equal((await internal(URLLINK, { expire_time: Math.floor(Date.now() / 1000) + 31 * 86_400 }).expect(400)).body.code, 'INVALID_PARAM');
      assert.equal(wechat().count('/wxa/generate_urllink'), before);
      assert.equal((await internal(URLLINK, { path: 'pages/unknown' }).expect(400)).body.code, 'WECHAT_INVALID_PARAM');
    });
  });

  describe('the access_token in WeChat\'s shape', () => {
    afterEach(() => resetTokens(app));

    it('a wrong secret: WeChat\'s 40125 and no call upstream; the right one: the token the internal API serves', async () => {
      const { appid, secret } = app.config.wxmp;
      const internalToken = await app.httpRequest().get('/api/v1/internal/wx/access_token').set('authorization', `Bearer ${KEY}`)
        .expect(200);
      const before = wechat().count('/cgi-bin/token');
      const wrong = await app.httpRequest().get(`/api/v1/internal/wx/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=not-the-secret`).expect(200);
      assert.equal(wrong.body.errcode, 40125);
      assert.match(wrong.body.errmsg, /^invalid appsecret/);
      const unknown = await app.httpRequest().get(`/api/v1/internal/wx/cgi-bin/token?grant_type=client_credential&appid=wx00000000000000000000&secret=${secret}`).expect(200);
      assert.equal(unknown.body.errcode, 40013);
      assert.equal((await app.httpRequest().get(`/api/v1/internal/wx/cgi-bin/token?grant_type=password&appid=${appid}&secret=${secret}`).expect(200)).body.errcode, 40002);
      const right = await app.httpRequest().get(`/api/v1/internal/wx/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${encodeURIComponent(secret)}`).expect(200);
      assert.deepEqual(Object.keys(right.body).sort(), [ 'access_token', 'expires_in' ]);
      assert.equal(right.body.access_token, internalToken.body.access_token);
      const stable = await app.httpRequest().post('/api/v1/internal/wx/cgi-bin/stable_token').send({ grant_type: 'client_credential', appid, secret, force_refresh: false })
        .expect(200);
      assert.equal(stable.body.access_token, internalToken.body.access_token);
      assert.equal(wechat().count('/cgi-bin/token'), before, 'WeChat never asked for these callers');
      const metrics = await app.httpRequest().get('/metrics').set('authorization', `Bearer ${KEY}`);
      assert.equal(metrics.status, 403, 'this key has no metrics scope');
    });
  });
});
