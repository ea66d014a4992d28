import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { PUSH_HANDLERS, type PushHandler } from '../../../../../app/lib/push_handlers';
import WXBizMsgCrypt, { pushSignature } from '../../../../../app/lib/WXBizMsgCrypt';
import { toXml } from '../../../../../sandbox/wechat/security';
import { listen } from '../../../../helpers/client';
import { until, wechat } from '../../../../helpers/sandbox';

const PUSH = '/api/v1/mp/wechat/push';

describe('test/app/controller/mp/wechat/push.test.ts (message push)', () => {
  let server: { url: string; close: () => Promise<void> };
  const push = () => app.config.wxmp.push;
  const events = () => app.mockContext().models.PushEvent;
  const now = () => String(Math.floor(Date.now() / 1000));

  before(async () => {
    server = await listen(app);
  });
  after(() => server.close());
  afterEach(async () => {
    await events().deleteMany({});
    await app.mockContext().models.MediaCheck.deleteMany({});
    await app.mockContext().models.PushNonce.deleteMany({});
    wechat().setPushTarget(app.config.wxmp.appid, undefined);
  });

  /** Has the double push `event` to the app like WeChat, in the app's current mode. */
  function target(format: 'json' | 'xml') {
    return { url: `${server.url}${PUSH}`, token: push().token, aesKey: push().aesKey || undefined, format };
  }
  const textMessage = (content = 'hello') => ({
    ToUserName: 'gh_sandbox0000001', FromUserName: `o_${crypto.randomBytes(6).toString('hex')}`, CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'text', Content: content, MsgId: String(BigInt(Date.now()) * 1000n + BigInt(crypto.randomInt(1000))),
  });

  /** A safe-mode request built by hand, for the refusals. */
  function safeRequest(opts: { plain?: string; encrypted?: string; timestamp?: string; appid?: string; badSignature?: boolean; xml?: boolean; noEncryptType?: boolean }) {
    const timestamp = opts.timestamp ?? now();
    const nonce = '12345';
    const encrypted = opts.encrypted ?? new WXBizMsgCrypt(push().aesKey, opts.appid ?? app.config.wxmp.appid).encrypt(opts.plain ?? JSON.stringify(textMessage()));
    const msgSignature = opts.badSignature ? '0'.repeat(40) : pushSignature(push().token, timestamp, nonce, encrypted);
    const query = `signature=${pushSignature(push().token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}${opts.noEncryptType ? '' : '&encrypt_type=aes'}&msg_signature=${msgSignature}`;
    const req = app.httpRequest().post(`${PUSH}?${query}`);
    return opts.xml
      ? req.set('content-type', 'text/xml').send(toXml({ ToUserName: 'gh_sandbox0000001', Encrypt: encrypted }))
      : req.set('content-type', 'application/json').send({ ToUserName: 'gh_sandbox0000001', Encrypt: encrypted });
  }

  describe('URL verification (GET)', () => {
    it('echoes echostr as text/plain when the signature is ours, 401 JSON when not', async () => {
      const timestamp = now();
      const ok = await app.httpRequest().get(`${PUSH}?signature=${pushSignature(push().token, timestamp, 'n1')}&timestamp=${timestamp}&nonce=n1&echostr=abc123`).expect(200);
      assert.equal(ok.text, 'abc123');
      assert.match(ok.headers['content-type'], /text\/plain/);
      const bad = await app.httpRequest().get(`${PUSH}?signature=${'f'.repeat(40)}&timestamp=${timestamp}&nonce=n1&echostr=abc123`).expect(401);
      assert.equal(bad.body.code, 'INVALID_SIGNATURE');
      const stale = String(Number(timestamp) - 600);
      const old = await app.httpRequest().get(`${PUSH}?signature=${pushSignature(push().token, stale, 'n1')}&timestamp=${stale}&nonce=n1&echostr=abc123`).expect(400);
      assert.equal(old.body.code, 'INVALID_PUSH');
    });

    it('is 404 when WXMP_PUSH_TOKEN is not set', async () => {
      mm(app.config.wxmp.push, 'token', '');
      await app.httpRequest().get(`${PUSH}?signature=x&timestamp=${now()}&nonce=1&echostr=abc`).expect(404);
      await app.httpRequest().post(PUSH).send({})
        .expect(404);
    });
  });

  for (const mode of [ 'safe', 'plaintext' ] as const) {
    for (const format of [ 'json', 'xml' ] as const) {
      it(`${mode} mode, ${format}: the double's push is answered success and stored once, parsed`, async () => {
        if (mode === 'plaintext') mm(app.config.wxmp.push, 'aesKey', '');
        const message = textMessage('你好 <b>&amp;</b>');
        const record = await wechat().security.push(app.config.wxmp.appid, target(format), message);
        assert.equal(record.delivered, true, record.lastAnswer);
        assert.equal(record.lastAnswer, '200 success');
        const stored = await events().findById(`msg:${message.MsgId}`).lean();
        assert.equal(stored?.msgType, 'text');
        assert.equal(stored?.fromUser, message.FromUserName);
        assert.equal((stored?.message as Record<string, unknown>).Content, '你好 <b>&amp;</b>');
        assert.equal(String((stored?.message as Record<string, unknown>).MsgId), message.MsgId, 'a 64-bit MsgId kept exactly');
        await until(async () => (await events().findById(stored?._id).lean())?.status === 'unhandled', 2000, 'the message to be dispatched');
      });
    }
  }

  describe('refusals: 4xx JSON, nothing stored, never 5xx', () => {
    const cases: [string, () => ReturnType<typeof safeRequest>, number][] = [
      [ 'a bad msg_signature', () => safeRequest({ badSignature: true }), 401 ],
      [ 'bad padding', () => {
        // A ciphertext whose last block decrypts to garbage padding, signed correctly.
        const enc = Buffer.from(new WXBizMsgCrypt(push().aesKey, app.config.wxmp.appid).encrypt('{"MsgType":"text"}'), 'base64');
        enc[enc.length - 17] ^= 0xff;
        return safeRequest({ encrypted: enc.toString('base64') });
      }, 400 ],
      [ 'another app\'s message', () => safeRequest({ appid: 'wxotherapp000000001' }), 400 ],
      [ 'a timestamp 6 minutes old', () => safeRequest({ timestamp: String(Math.floor(Date.now() / 1000) - 360) }), 400 ],
      [ 'a timestamp 6 minutes ahead', () => safeRequest({ timestamp: String(Math.floor(Date.now() / 1000) + 360) }), 400 ],
      [ 'a decrypted message that does not parse', () => safeRequest({ plain: '{"MsgType": "text", ' }), 400 ],
      [ 'a message without MsgType', () => safeRequest({ plain: '{"Content": "x"}' }), 400 ],
      [ 'XML that does not parse', () => app.httpRequest().post(`${PUSH}?timestamp=${now()}&nonce=1&encrypt_type=aes&msg_signature=x`).set('content-type', 'text/xml')
        .send('<xml><Encrypt>abc</xml>'), 400 ],
      [ 'no Encrypt field', () => app.httpRequest().post(`${PUSH}?timestamp=${now()}&nonce=1&encrypt_type=aes&msg_signature=x`).send({ ToUserName: 'x' }), 400 ],
      [ 'a plaintext push while safe mode is on', () => app.httpRequest().post(`${PUSH}?signature=${pushSignature(push().token, now(), '1')}&timestamp=${now()}&nonce=1`).send(textMessage()), 400 ],
      [ 'an encrypted push without encrypt_type=aes', () => safeRequest({ noEncryptType: true }), 400 ],
      [ 'a body over 64 KiB', () => safeRequest({ plain: JSON.stringify({ ...textMessage(), Content: 'x'.repeat(70 * 1024) }) }), 413 ],
      [ 'no timestamp', () => app.httpRequest().post(`${PUSH}?nonce=1&encrypt_type=aes`).send({ Encrypt: 'abc' }), 400 ],
    ];
    for (const [ label, send, status ] of cases) {
      it(label, async () => {
        const res = await send();
        assert.equal(res.status, status, res.text);
        assert.equal(typeof res.body.code, 'string');
        assert.equal(await events().countDocuments(), 0, 'nothing stored');
      });
    }

    it('safe mode: a valid Encrypt without msg_signature is 401, nothing stored', async () => {
      const timestamp = now();
      const encrypted = new WXBizMsgCrypt(push().aesKey, app.config.wxmp.appid).encrypt(JSON.stringify(textMessage()));
      for (const body of [{ ToUserName: 'gh_sandbox0000001', Encrypt: encrypted }]) {
        const res = await app.httpRequest().post(`${PUSH}?signature=${pushSignature(push().token, timestamp, '1')}&timestamp=${timestamp}&nonce=1&encrypt_type=aes`).send(body)
          .expect(401);
        assert.equal(res.body.code, 'INVALID_SIGNATURE');
      }
      assert.equal(await events().countDocuments(), 0);
    });

    it('an XML push over 16 KiB is 413, in either mode', async () => {
      const big = safeRequest({ plain: JSON.stringify({ ...textMessage(), Content: 'x'.repeat(17 * 1024) }), xml: true });
      assert.equal((await big).status, 413);
      mm(app.config.wxmp.push, 'aesKey', '');
      const timestamp = now();
      const res = await app.httpRequest().post(`${PUSH}?signature=${pushSignature(push().token, timestamp, '7')}&timestamp=${timestamp}&nonce=7`)
        .set('content-type', 'text/xml')
        .send(toXml({ ...textMessage(), Content: 'y'.repeat(17 * 1024) }));
      assert.equal(res.status, 413, res.text);
      assert.equal(await events().countDocuments(), 0);
    });

    for (const [ label, body ] of [
      [ '2,000 nested tags (9,000 are over the size cap)', `<xml>${'<a>'.repeat(2000)}x${'</a>'.repeat(2000)}</xml>` ],
      [ 'an external entity', '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><MsgType>&x;</MsgType></xml>' ],
      [ 'an entity expansion', `<!DOCTYPE xml [<!ENTITY a "${'a'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><MsgType>text</MsgType><Content>&b;&b;&b;</Content></xml>` ],
      [ 'a <__proto__> tag', '<xml><MsgType>text</MsgType><__proto__><polluted>1</polluted></__proto__></xml>' ],
    ] as const) {
      it(`plaintext mode, XML with ${label}: 400 INVALID_PUSH when signed, 401 unread when not; never a 500`, async () => {
        mm(app.config.wxmp.push, 'aesKey', '');
        app.mockLog();
        const timestamp = now();
        const nonce = crypto.randomBytes(4).toString('hex');
        const signed = await app.httpRequest().post(`${PUSH}?signature=${pushSignature(push().token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}`)
          .set('content-type', 'text/xml')
          .send(body);
        assert.equal(signed.status, 400, signed.text);
        assert.equal(signed.body.code, 'INVALID_PUSH');
        const unsigned = await app.httpRequest().post(`${PUSH}?signature=${'0'.repeat(40)}&timestamp=${timestamp}&nonce=${nonce}`).set('content-type', 'text/xml')
          .send(body);
        assert.equal(unsigned.status, 401);
        app.notExpectLog(/ERROR/);
        assert.equal(await events().countDocuments(), 0);
      });
    }

    it('plaintext mode: a second, different body under one signed (timestamp, nonce) is refused; the same one again is acknowledged', async () => {
      mm(app.config.wxmp.push, 'aesKey', '');
      const timestamp = now();
      const nonce = crypto.randomBytes(4).toString('hex');
      const url = `${PUSH}?signature=${pushSignature(push().token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}`;
      const first = textMessage('first');
      assert.equal((await app.httpRequest().post(url).send(first)
        .expect(200)).text, 'success');
      assert.equal((await app.httpRequest().post(url).send(first)
        .expect(200)).text, 'success', 'WeChat retrying the same message');
      const forged = await app.httpRequest().post(url).send(textMessage('forged'))
        .expect(400);
      assert.equal(forged.body.code, 'INVALID_PUSH');
      assert.equal(await events().countDocuments(), 1);
      // shared through MongoDB (every worker and host), kept past the timestamp window only
      const pair = await app.mockContext().models.PushNonce.findById(`${app.config.wxmp.appid}:${timestamp}:${nonce}`).lean();
      assert.ok(pair && pair.expiresAt.getTime() > Date.now() + 290_000);
    });

    it('the push\'s query string (signature, nonce, openid) never reaches a log line', async () => {
      mm(app.config.wxmp.push, 'aesKey', '');
      const timestamp = now();
      const nonce = `n${crypto.randomBytes(6).toString('hex')}`;
      const url = `${PUSH}?signature=${pushSignature(push().token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}&openid=o_secret_openid_in_query`;
      const message = textMessage('logged');
      await app.httpRequest().post(url).send(message)
        .expect(200);
      await app.httpRequest().post(url).send(message)
        .expect(200); // logs "already received"
      const file = path.join(app.config.logger.dir, app.config.logger.appLogName);
      await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(`msg:${message.MsgId} already received`), 5000, 'the line to be written');
      const lines = fs.readFileSync(file, 'utf8').split('\n').filter(l => l.includes(`msg:${message.MsgId}`));
      assert.ok(lines.length >= 1);
      for (const line of lines) {
        assert.match(line, /POST \/api\/v1\/mp\/wechat\/push\]/, 'the path is there');
        assert.doesNotMatch(line, /signature=|nonce=|openid=|o_secret_openid_in_query/);
      }
    });

    it('a plaintext push with a bad signature is 401 (plaintext mode)', async () => {
      mm(app.config.wxmp.push, 'aesKey', '');
      const res = await app.httpRequest().post(`${PUSH}?signature=${'0'.repeat(40)}&timestamp=${now()}&nonce=1`).send(textMessage())
        .expect(401);
      assert.equal(res.body.code, 'INVALID_SIGNATURE');
      assert.equal(await events().countDocuments(), 0);
    });
  });

  describe('each message is handled once', () => {
    let handled: string[];
    beforeEach(() => {
      handled = [];
      const counting: PushHandler = async (_ctx, message) => { handled.push(String(message.trace_id)); };
      mm(PUSH_HANDLERS as Record<string, PushHandler>, 'event:wxa_media_check', counting);
    });
    const mediaEvent = () => ({
      ToUserName: 'gh_sandbox0000001', FromUserName: 'o_handled_once', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event',
      Event: 'wxa_media_check', appid: app.config.wxmp.appid, trace_id: crypto.randomUUID(), version: 2, result: { suggest: 'pass', label: 100 }, detail: [],
    });

    it('a replayed push is acknowledged and not handled again (dedup without MsgId: sender + CreateTime + Event + trace_id)', async () => {
      const event = mediaEvent();
      for (let i = 0; i < 3; i++) assert.equal((await wechat().security.push(app.config.wxmp.appid, target('json'), event)).lastAnswer, '200 success');
      await until(() => handled.length === 1, 2000, 'the handler');
      await new Promise(r => setTimeout(r, 200));
      assert.deepEqual(handled, [ event.trace_id ]);
      assert.equal(await events().countDocuments(), 1);
      await until(async () => (await events().findOne().lean())?.status === 'handled', 2000, 'status handled');
    });

    it('two different verdicts from one sender in the same second are two messages (trace_id is part of the key)', async () => {
      const one = mediaEvent();
      const two = { ...one, trace_id: crypto.randomUUID(), result: { suggest: 'risky', label: 20002 } };
      for (const event of [ one, two ]) assert.equal((await wechat().security.push(app.config.wxmp.appid, target('json'), event)).lastAnswer, '200 success');
      await until(() => handled.length === 2, 2000, 'both handled');
      assert.deepEqual(new Set(handled), new Set([ one.trace_id, two.trace_id ]));
      assert.equal(await events().countDocuments(), 2);
    });

    it('10 concurrent copies: all answered success, one stored, handled once', async () => {
      const event = mediaEvent();
      const records = await Promise.all(Array.from({ length: 10 }, () => wechat().security.push(app.config.wxmp.appid, target('xml'), event)));
      assert.deepEqual(records.map(r => r.lastAnswer), Array(10).fill('200 success'));
      await until(() => handled.length >= 1, 2000, 'the handler');
      await new Promise(r => setTimeout(r, 200));
      assert.equal(handled.length, 1);
      assert.equal(await events().countDocuments(), 1);
    });
  });
});
