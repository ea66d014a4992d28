import assert from 'node:assert/strict';
import WXBizMsgCrypt, { MsgCryptError, pushSignature, signatureMatches } from '../../../app/lib/WXBizMsgCrypt';

// WeChat's own sample data (WXBizMsgCrypt demo code, Java/PHP/Python samples).
const SAMPLE = {
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  token: 'pamtest',
  timestamp: '1409304348',
  nonce: 'xxxxxx',
  appid: 'wxb11529c136998cb6',
  message: '我是中文abcd123',
  random: 'aaaabbbbccccdddd',
  encrypted: 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
};

describe('test/app/lib/WXBizMsgCrypt.test.ts', () => {
  const crypt = new WXBizMsgCrypt(SAMPLE.encodingAesKey, SAMPLE.appid);

  it('reproduces WeChat\'s sample ciphertext from its random prefix, and decrypts it back', () => {
    assert.equal(crypt.encrypt(SAMPLE.message, Buffer.from(SAMPLE.random)), SAMPLE.encrypted);
    assert.equal(crypt.decrypt(SAMPLE.encrypted), SAMPLE.message);
  });

  it('round-trips long messages (padding to 32-byte blocks, not 16)', () => {
    for (const n of [ 0, 1, 11, 12, 31, 32, 33, 1000 ]) {
      const msg = 'x'.repeat(n);
      const enc = crypt.encrypt(msg);
      assert.equal(Buffer.from(enc, 'base64').length % 32, 0);
      assert.equal(crypt.decrypt(enc), msg);
    }
  });

  it('refuses another app\'s message, bad padding, short or garbled ciphertext', () => {
    const other = new WXBizMsgCrypt(SAMPLE.encodingAesKey, 'wxotherapp000000001');
    const refuse = (encrypted: string, reason: RegExp) => assert.throws(() => crypt.decrypt(encrypted), (err: Error) => err instanceof MsgCryptError && reason.test(err.reason));
    refuse(other.encrypt('hello'), /another appid/);
    refuse('not base64!', /not base64/);
    refuse(Buffer.alloc(20).toString('base64'), /whole number of blocks/);
    const tampered = Buffer.from(SAMPLE.encrypted, 'base64');
    tampered[tampered.length - 1] ^= 1;
    refuse(tampered.toString('base64'), /padding|appid|length|decrypt/);
  });

  it('signatures are sha1 over the sorted parts, compared in constant time', () => {
    const sig = pushSignature(SAMPLE.token, SAMPLE.timestamp, SAMPLE.nonce);
    assert.equal(sig, pushSignature(SAMPLE.nonce, SAMPLE.token, SAMPLE.timestamp));
    assert.match(sig, /^[0-9a-f]{40}$/);
    assert.ok(signatureMatches(sig, sig));
    assert.ok(!signatureMatches(sig, sig.replace(/.$/, c => (c === '0' ? '1' : '0'))));
    assert.ok(!signatureMatches(sig, undefined));
    assert.ok(!signatureMatches(sig, [ sig ]));
  });

  it('requires a 43-character EncodingAESKey', () => {
    assert.throws(() => new WXBizMsgCrypt('short', SAMPLE.appid), /43/);
  });
});
