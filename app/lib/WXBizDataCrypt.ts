import crypto from 'node:crypto';
import { BadRequestError } from './errors';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BLOCK = 16;

/** Data that cannot be decrypted: the client must log in again to get a fresh session_key. */
export class DecryptError extends BadRequestError {
  constructor(readonly reason: string) {
    super('Encrypted data could not be decrypted; call wx.login, log in again and retry', 'DECRYPT_FAILED');
  }
}

export interface DecryptOptions {
  /** Reject data whose watermark is older than this many seconds; 0 = off. */
  maxAgeSeconds?: number;
  /** Clock for the freshness check (tests). */
  now?: () => number;
}

export interface Watermark {
  appid: string;
  timestamp: number;
}

function decodeBase64(value: string, what: string): Buffer {
  if (!value || !BASE64.test(value)) throw new DecryptError(`${what} is not base64`);
  return Buffer.from(value, 'base64');
}

/**
 * WeChat's user-data decryption (the seed's WXBizDataCrypt): AES-128-CBC with the
 * session_key, PKCS#7 padding checked strictly, and the watermark's appid checked against
 * ours. Every failure is a DecryptError (HTTP 400), never "Illegal Buffer" as a 500.
 */
export default class WXBizDataCrypt {
  constructor(private readonly appId: string, private readonly sessionKey: string) {}

  decryptData<T extends object = Record<string, unknown>>(encryptedData: string, iv: string, options: DecryptOptions = {}): T & { watermark: Watermark } {
    const key = decodeBase64(this.sessionKey, 'session_key');
    if (key.length !== BLOCK) throw new DecryptError('session_key is not 16 bytes');
    const ivBytes = decodeBase64(iv, 'iv');
    if (ivBytes.length !== BLOCK) throw new DecryptError('iv is not 16 bytes');
    const cipherText = decodeBase64(encryptedData, 'encryptedData');
    if (!cipherText.length || cipherText.length % BLOCK !== 0) throw new DecryptError('encryptedData is not a whole number of blocks');

    const decipher = crypto.createDecipheriv('aes-128-cbc', key, ivBytes);
    decipher.setAutoPadding(false);
    const padded = Buffer.concat([ decipher.update(cipherText), decipher.final() ]);
    const pad = padded[padded.length - 1];
    if (pad < 1 || pad > BLOCK || !padded.subarray(padded.length - pad).every(b => b === pad)) {
      throw new DecryptError('bad PKCS#7 padding');
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(padded.subarray(0, padded.length - pad).toString('utf8'));
    } catch {
      throw new DecryptError('plaintext is not JSON');
    }
    if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) throw new DecryptError('plaintext is not an object');
    const watermark = (decoded as { watermark?: Partial<Watermark> }).watermark;
    if (!watermark || watermark.appid !== this.appId) throw new DecryptError('watermark appid mismatch');
    const maxAge = options.maxAgeSeconds ?? 0;
    if (maxAge > 0) {
      const now = Math.floor((options.now ?? Date.now)() / 1000);
      if (typeof watermark.timestamp !== 'number' || now - watermark.timestamp > maxAge) throw new DecryptError('watermark too old');
    }
    return decoded as T & { watermark: Watermark };
  }
}
