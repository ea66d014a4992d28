import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WXBizDataCrypt, { DecryptError } from '../../../app/lib/WXBizDataCrypt';

const APPID = 'wx4f4bc4dec97d474b';
const KEY = crypto.randomBytes(16);

function encrypt(plain: Buffer, iv = crypto.randomBytes(16), autoPadding = true): { encryptedData: string; iv: string } {
  const cipher = crypto.createCipheriv('aes-128-cbc', KEY, iv);
  cipher.setAutoPadding(autoPadding);
  return { encryptedData: Buffer.concat([ cipher.update(plain), cipher.final() ]).toString('base64'), iv: iv.toString('base64') };
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DecryptError, `a DecryptError, not ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'DECRYPT_FAILED');
    return err.reason;
  }
  throw new Error('expected a DecryptError');
}

describe('test/app/lib/WXBizDataCrypt.test.ts', () => {
  const crypt = new WXBizDataCrypt(APPID, KEY.toString('base64'));
  const payload = { openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', nickName: 'Band', watermark: { appid: APPID, timestamp: 1477314187 } };

  it('decrypts WeChat user data and checks the watermark appid', () => {
    const { encryptedData, iv } = encrypt(Buffer.from(JSON.stringify(payload)));
    assert.deepEqual(crypt.decryptData(encryptedData, iv), payload);
    const other = new WXBizDataCrypt('wxanotherapp', KEY.toString('base64'));
    assert.equal(reasonOf(() => other.decryptData(encryptedData, iv)), 'watermark appid mismatch');
  });

  it('refuses data whose watermark has no appid, or no watermark at all (data of unknown origin)', () => {
    for (const data of [{ ...payload, watermark: { timestamp: 1477314187 } }, { openId: payload.openId, nickName: 'Band' }]) {
      const { encryptedData, iv } = encrypt(Buffer.from(JSON.stringify(data)));
      assert.equal(reasonOf(() => crypt.decryptData(encryptedData, iv)), 'watermark appid mismatch', JSON.stringify(data));
    }
  });

  it('checks PKCS#7 padding strictly', () => {
    const body = Buffer.from(JSON.stringify(payload));
    const padLen = 16 - (body.length % 16);
    const badPad = Buffer.alloc(padLen, padLen);
    badPad[0] = (padLen % 16) + 1; // one padding byte differs from the others
    const { encryptedData, iv } = encrypt(Buffer.concat([ body, badPad ]), undefined, false);
    assert.equal(reasonOf(() => crypt.decryptData(encryptedData, iv)), 'bad PKCS#7 padding');
  });

  it('refuses keys, ivs and ciphertexts of the wrong shape without touching the cipher', () => {
    const { encryptedData, iv } = encrypt(Buffer.from(JSON.stringify(payload)));
    assert.equal(reasonOf(() => new WXBizDataCrypt(APPID, crypto.randomBytes(15).toString('base64')).decryptData(encryptedData, iv)), 'session_key is not 16 bytes');
    assert.equal(reasonOf(() => crypt.decryptData(encryptedData, crypto.randomBytes(8).toString('base64'))), 'iv is not 16 bytes');
    assert.equal(reasonOf(() => crypt.decryptData('not base64!', iv)), 'encryptedData is not base64');
    assert.equal(reasonOf(() => crypt.decryptData(Buffer.alloc(17).toString('base64'), iv)), 'encryptedData is not a whole number of blocks');
  });

  it('optionally refuses data older than a maximum age', () => {
    const now = 1_700_000_000_000;
    const fresh = encrypt(Buffer.from(JSON.stringify({ ...payload, watermark: { appid: APPID, timestamp: now / 1000 - 30 } })));
    const stale = encrypt(Buffer.from(JSON.stringify({ ...payload, watermark: { appid: APPID, timestamp: now / 1000 - 600 } })));
    assert.equal(crypt.decryptData(fresh.encryptedData, fresh.iv, { maxAgeSeconds: 300, now: () => now }).nickName, 'Band');
    assert.equal(reasonOf(() => crypt.decryptData(stale.encryptedData, stale.iv, { maxAgeSeconds: 300, now: () => now })), 'watermark too old');
    assert.equal(crypt.decryptData(stale.encryptedData, stale.iv).nickName, 'Band', 'off by default');
  });
});
