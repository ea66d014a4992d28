import crypto from 'node:crypto';

/**
 * WeChat's message-push encryption (消息推送 安全模式, the WXBizMsgCrypt of WeChat's demo
 * code): AES-256-CBC with key = base64(EncodingAESKey + '='), IV = the key's first 16 bytes;
 * plaintext = 16 random bytes + 4-byte big-endian length + message + appid, PKCS#7-padded to
 * 32-byte blocks. Signatures are SHA-1 over the sorted, concatenated parts.
 */

const BLOCK = 32;
const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;

export class MsgCryptError extends Error {
  constructor(readonly reason: string) {
    super(`message push: ${reason}`);
    this.name = 'MsgCryptError';
  }
}

/** sha1(sort(parts).join('')), hex: both the URL signature and the msg_signature. */
export function pushSignature(...parts: string[]): string {
  return crypto.createHash('sha1').update([ ...parts ].sort().join('')).digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function signatureMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}

export function isEncodingAesKey(value: string): boolean {
  return ENCODING_AES_KEY.test(value);
}

export default class WXBizMsgCrypt {
  private readonly key: Buffer;

  constructor(encodingAesKey: string, private readonly appid: string) {
    if (!isEncodingAesKey(encodingAesKey)) throw new Error('EncodingAESKey must be 43 letters or digits');
    this.key = Buffer.from(`${encodingAesKey}=`, 'base64');
  }

  /** Encrypts `message` for `appid` (the demo's EncryptMsg; `random` is fixed only in tests). */
  encrypt(message: string, random: Buffer = crypto.randomBytes(16)): string {
    const body = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const plain = Buffer.concat([ random, length, body, Buffer.from(this.appid, 'utf8') ]);
    const pad = BLOCK - (plain.length % BLOCK);
    const cipher = crypto.createCipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([ cipher.update(Buffer.concat([ plain, Buffer.alloc(pad, pad) ])), cipher.final() ]).toString('base64');
  }

  /**
   * Decrypts an `Encrypt` value; throws MsgCryptError for anything that is not a message of
   * this app: not base64 of whole blocks, bad padding, a length that overruns, another appid.
   */
  decrypt(encrypted: string): string {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypted)) throw new MsgCryptError('Encrypt is not base64');
    const data = Buffer.from(encrypted, 'base64');
    if (!data.length || data.length % 16 !== 0) throw new MsgCryptError('Encrypt is not a whole number of blocks');
    let plain: Buffer;
    try {
      const decipher = crypto.createDecipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16));
      decipher.setAutoPadding(false);
      plain = Buffer.concat([ decipher.update(data), decipher.final() ]);
    } catch {
      throw new MsgCryptError('Encrypt does not decrypt');
    }
    const pad = plain[plain.length - 1];
    if (pad < 1 || pad > BLOCK || pad > plain.length || !plain.subarray(plain.length - pad).every(b => b === pad)) {
      throw new MsgCryptError('bad padding');
    }
    const content = plain.subarray(16, plain.length - pad);
    if (content.length < 4) throw new MsgCryptError('too short');
    const length = content.readUInt32BE(0);
    if (length > content.length - 4) throw new MsgCryptError('length overruns the message');
    const appid = content.subarray(4 + length).toString('utf8');
    if (appid !== this.appid) throw new MsgCryptError('the message is for another appid');
    return content.subarray(4, 4 + length).toString('utf8');
  }
}
