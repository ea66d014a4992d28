import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWeChatDouble, type WeChatDouble } from '../../../sandbox/wechat/server';

const APP = { appid: 'wxdouble000000000001', secret: 'double-secret' };

describe('test/sandbox/wechat/server.test.ts', () => {
  let double: WeChatDouble;

  beforeEach(async () => {
    double = await startWeChatDouble({ apps: [ APP ], graceSeconds: 1, loginsPerMinute: 3 });
  });
  afterEach(() => double.close());

  async function get(path: string, query: Record<string, string>): Promise<Record<string, unknown>> {
    const res = await fetch(`${double.url}${path}?${new URLSearchParams(query)}`);
    return await res.json() as Record<string, unknown>;
  }
  async function post(path: string, body: unknown, query: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const res = await fetch(`${double.url}${path}?${new URLSearchParams(query)}`, { method: 'POST', body: JSON.stringify(body) });
    return await res.json() as Record<string, unknown>;
  }
  const token = () => get('/cgi-bin/token', { grant_type: 'client_credential', ...APP });

  it('issues access_tokens and answers 40013/40125 for a wrong appid or secret', async () => {
    const ok = await token();
    assert.equal(typeof ok.access_token, 'string');
    assert.equal(ok.expires_in, 7200);
    assert.equal((await get('/cgi-bin/token', { grant_type: 'client_credential', appid: 'wxnope', secret: APP.secret })).errcode, 40013);
    assert.equal((await get('/cgi-bin/token', { grant_type: 'client_credential', appid: APP.appid, secret: 'bad' })).errcode, 40125);
    assert.equal(double.count('/cgi-bin/token'), 3);
  });

  it('a superseded token keeps working for the grace period, then answers 40001', async () => {
    const first = String((await token()).access_token);
    await token();
    const code = double.issuePhoneCode(APP.appid, '13800138000');
    const inGrace = await post('/wxa/business/getuserphonenumber', { code }, { access_token: first });
    assert.equal(inGrace.errcode, 0);
    await new Promise(r => setTimeout(r, 1100));
    const later = await post('/wxa/business/getuserphonenumber', { code: double.issuePhoneCode(APP.appid, '1') }, { access_token: first });
    assert.equal(later.errcode, 40001);
  });

  it('stable_token returns the same token in normal mode and a new one with force_refresh', async () => {
    const body = { grant_type: 'client_credential', ...APP };
    const a = await post('/cgi-bin/stable_token', body);
    const b = await post('/cgi-bin/stable_token', body);
    const forced = await post('/cgi-bin/stable_token', { ...body, force_refresh: true });
    assert.equal(a.access_token, b.access_token);
    assert.notEqual(forced.access_token, a.access_token);
  });

  it('jscode2session: single-use codes (40163 on reuse, 40029 invalid), derived session keys, 45011 rate limit', async () => {
    const q = (js_code: string) => get('/sns/jscode2session', { ...APP, js_code, grant_type: 'authorization_code' });
    const code = double.issueLoginCode(APP.appid, 'openid-1');
    const session = await q(code);
    assert.equal(session.openid, 'openid-1');
    assert.equal(session.session_key, double.sessionKeyFor(APP.appid, 'openid-1'));
    assert.equal(Buffer.from(String(session.session_key), 'base64').length, 16);
    assert.equal((await q(code)).errcode, 40163);
    assert.equal((await q('made-up')).errcode, 40029);
    await q(double.issueLoginCode(APP.appid, 'openid-1'));
    await q(double.issueLoginCode(APP.appid, 'openid-1'));
    assert.equal((await q(double.issueLoginCode(APP.appid, 'openid-1'))).errcode, 45011);
    double.markRisky('openid-2');
    assert.equal((await q(double.issueLoginCode(APP.appid, 'openid-2'))).errcode, 40226);
  });

  it('encrypts user data that decrypts with the derived session_key and carries the watermark', () => {
    const { encryptedData, iv } = double.encryptFor(APP.appid, 'openid-9', { nickName: '小程序' });
    const decipher = crypto.createDecipheriv('aes-128-cbc', Buffer.from(double.sessionKeyFor(APP.appid, 'openid-9'), 'base64'), Buffer.from(iv, 'base64'));
    const plain = JSON.parse(Buffer.concat([ decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final() ]).toString('utf8'));
    assert.equal(plain.nickName, '小程序');
    assert.equal(plain.watermark.appid, APP.appid);
  });

  it('getuserphonenumber needs a valid token and a single-use phone code', async () => {
    const at = String((await token()).access_token);
    const code = double.issuePhoneCode(APP.appid, '13800138000');
    const ok = await post('/wxa/business/getuserphonenumber', { code }, { access_token: at });
    assert.deepEqual((ok.phone_info as Record<string, unknown>).purePhoneNumber, '13800138000');
    assert.equal((await post('/wxa/business/getuserphonenumber', { code }, { access_token: at })).errcode, 40029);
    assert.equal((await post('/wxa/business/getuserphonenumber', { code: 'x' }, { access_token: 'AT_forged' })).errcode, 40001);
  });

  it('injects faults: latency, HTTP 5xx, errcode, garbage, limited by count and path', async () => {
    double.inject({ path: '/cgi-bin/token', kind: 'http5xx', times: 1 });
    const res = await fetch(`${double.url}/cgi-bin/token`);
    assert.equal(res.status, 502);
    double.inject({ path: '/cgi-bin/token', kind: 'garbage', times: 1 });
    await assert.rejects((await fetch(`${double.url}/cgi-bin/token`)).json());
    double.inject({ kind: 'errcode', errcode: -1, times: 1 });
    assert.equal((await token()).errcode, -1);
    double.inject({ path: '/cgi-bin/token', kind: 'latency', ms: 200, times: 1 });
    const started = Date.now();
    assert.equal(typeof (await token()).access_token, 'string');
    assert.ok(Date.now() - started >= 190);
    assert.equal(typeof (await token()).access_token, 'string', 'faults expire after `times`');
  });

  it('is driven over HTTP by the client simulator and fault suite (/sandbox/*)', async () => {
    const { code } = await post('/sandbox/login', { appid: APP.appid, openid: 'o-http' }) as { code: string };
    const session = await get('/sns/jscode2session', { ...APP, js_code: code, grant_type: 'authorization_code' });
    assert.equal(session.openid, 'o-http');
    await post('/sandbox/faults', { path: '/cgi-bin/token', kind: 'errcode', errcode: 45011 });
    assert.equal((await token()).errcode, 45011);
    await fetch(`${double.url}/sandbox/faults`, { method: 'DELETE' });
    assert.equal(typeof (await token()).access_token, 'string');
    const stats = await (await fetch(`${double.url}/sandbox/stats`)).json() as { calls: Record<string, number> };
    assert.equal(stats.calls['/sns/jscode2session'], 1);
  });
});
