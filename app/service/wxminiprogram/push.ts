import { XMLParser, XMLValidator } from 'fast-xml-parser';
import WxmpIndexService from './index';
import { isDuplicateKey } from '../../lib/db';
import { ApiError, BadRequestError, NotFoundError, UnauthorizedError } from '../../lib/errors';
import { handlerKey, PUSH_HANDLERS, type PushMessage } from '../../lib/push_handlers';
import WXBizMsgCrypt, { MsgCryptError, pushSignature, signatureMatches } from '../../lib/WXBizMsgCrypt';

/** The query string WeChat signs a push with. */
export interface PushQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
  echostr?: string;
  encrypt_type?: string;
  msg_signature?: string;
}

// Every value a string (no number parsing: MsgId is a 64-bit id), CDATA unwrapped.
const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true });

/** The largest push accepted: WeChat's messages and events are a few KiB. */
export const PUSH_MAX_BYTES = 16 * 1024;

function invalidPush(message: string): BadRequestError {
  return new BadRequestError(message, 'INVALID_PUSH');
}

/** Safe mode's `Encrypt`, read without parsing the rest of a body not yet authenticated. */
const XML_ENCRYPT = /<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=]+)\]\]>|([A-Za-z0-9+/=]+))\s*<\/Encrypt>/;

/** A raw push body, trimmed; over PUSH_MAX_BYTES is 413. */
function cappedText(body: string): string {
  const text = body.trim();
  if (Buffer.byteLength(text) > PUSH_MAX_BYTES) throw tooLarge();
  return text;
}

/** A push body, JSON or XML (the console offers both), as an object; anything else is 400 INVALID_PUSH. */
function parseBody(body: unknown): PushMessage {
  if (typeof body === 'string') {
    const text = cappedText(body);
    if (text.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        throw invalidPush('The push body is not valid JSON');
      }
      return parseBody(parsed);
    }
    // WeChat never declares a document type; entities declared by a sender are refused unread.
    if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw invalidPush('The push body may not declare a document type or entities');
    let parsed: { xml?: unknown };
    try {
      if (!text.startsWith('<') || XMLValidator.validate(text) !== true) throw invalidPush('The push body is not valid XML or JSON');
      parsed = xml.parse(text) as { xml?: unknown };
    } catch (err) {
      if (err instanceof BadRequestError) throw err;
      // fast-xml-parser's refusals (nesting too deep, a reserved tag name like __proto__)
      throw invalidPush('The push body is not XML WeChat would send');
    }
    if (!parsed.xml || typeof parsed.xml !== 'object') throw invalidPush('The push body has no <xml> root');
    return parsed.xml as PushMessage;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidPush('The push body is not an object');
  if (Buffer.byteLength(JSON.stringify(body)) > PUSH_MAX_BYTES) throw tooLarge();
  return body as PushMessage;
}

function tooLarge(): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `A push body is at most ${PUSH_MAX_BYTES / 1024} KiB`);
}

/** Safe mode's `Encrypt` field of a raw body (XML or JSON) or of a parsed JSON body. */
function encryptedField(body: unknown): string | undefined {
  if (typeof body === 'string') {
    const text = cappedText(body);
    if (!text.startsWith('{')) {
      const m = XML_ENCRYPT.exec(text);
      return m ? m[1] ?? m[2] : undefined;
    }
  }
  const value = parseBody(body).Encrypt;
  return typeof value === 'string' && value ? value : undefined;
}

/**
 * Repeated pushes of one message share this key: MsgId, else sender + CreateTime + Event +
 * trace_id, and for the account events (sent by the platform's push account about a user) the
 * user's OpenID and RevokeInfo, so two users' events of one second are two messages.
 */
export function dedupKey(message: PushMessage): string {
  if (message.MsgId !== undefined && String(message.MsgId) !== '') return `msg:${String(message.MsgId)}`;
  const key = [ 'evt', message.FromUserName, message.CreateTime, message.Event, message.trace_id ].map(v => String(v ?? '')).join(':');
  return message.OpenID === undefined ? key : `${key}:${String(message.OpenID)}:${String(message.RevokeInfo ?? '')}`;
}

/**
 * WeChat's message push (消息推送): verifies, decrypts, stores and dispatches. A message is
 * stored once (its dedup key is the collection's _id) and only the request that stored it
 * runs its handler, so retries and concurrent copies, on any worker or host, are handled once.
 */
export default class WxmpPushService extends WxmpIndexService {
  private get settings() {
    const { push } = this.WXAuth;
    if (!push.token) throw new NotFoundError('Message push is not configured');
    return push;
  }

  /** GET: the console's URL check. Returns `echostr` when the signature is ours. */
  verifyUrl(query: PushQuery): string {
    this.checkTimestamp(query.timestamp);
    this.checkSignature(query);
    if (typeof query.echostr !== 'string' || !query.echostr) throw invalidPush('echostr is required');
    return query.echostr;
  }

  /** POST: one pushed message. Resolves once it is stored (or known); the handler runs after. */
  async receive(query: PushQuery, body: unknown): Promise<void> {
    const message = await this.open(query, body);
    if (typeof message.MsgType !== 'string' || !message.MsgType) throw invalidPush('The message has no MsgType');
    // The first app's keys are as the one-app release wrote them; other apps' carry their AppID.
    const id = this.WXAuth.appid === this.config.wxmp.appid ? dedupKey(message) : `${this.WXAuth.appid}:${dedupKey(message)}`;
    try {
      await this.ctx.models.PushEvent.create({
        _id: id, appid: this.WXAuth.appid, msgType: message.MsgType, event: typeof message.Event === 'string' ? message.Event : undefined,
        fromUser: typeof message.FromUserName === 'string' ? message.FromUserName : undefined,
        openid: typeof message.OpenID === 'string' ? message.OpenID : typeof message.FromUserName === 'string' ? message.FromUserName : undefined,
        message, receivedAt: new Date(), status: 'received',
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      this.ctx.logger.info('[push] %s already received; acknowledged again', id);
      return;
    }
    // Not awaited: WeChat waits 5 s for `success` and retries, so the answer goes first.
    this.ctx.runInBackground(() => this.dispatch(id, message));
  }

  private async dispatch(id: string, message: PushMessage): Promise<void> {
    const handler = PUSH_HANDLERS[handlerKey(message)];
    const events = this.ctx.models.PushEvent;
    if (!handler) {
      await events.updateOne({ _id: id }, { $set: { status: 'unhandled' } });
      return;
    }
    try {
      await handler(this.ctx, message);
      await events.updateOne({ _id: id }, { $set: { status: 'handled', handledAt: new Date() } });
    } catch (err) {
      this.ctx.logger.error('[push] handler for %s failed: %s', id, (err as Error).message);
      await events.updateOne({ _id: id }, { $set: { status: 'failed', error: (err as Error).message.slice(0, 500) } });
    }
  }

  /**
   * Checks the signature (and, in safe mode, decrypts) and returns the message. The signature
   * is checked before the body is parsed: an unsigned body never reaches the XML parser.
   */
  private async open(query: PushQuery, body: unknown): Promise<PushMessage> {
    const { token, aesKey } = this.settings;
    this.checkTimestamp(query.timestamp);
    const timestamp = String(query.timestamp);
    const nonce = String(query.nonce ?? '');
    if (!aesKey) {
      if (query.encrypt_type === 'aes') throw invalidPush('Safe mode is not configured here (WXMP_PUSH_AES_KEY)');
      this.checkSignature(query);
      const message = parseBody(body);
      // The signature covers the timestamp and nonce, not the body: a signed pair carries one message only.
      await this.acceptPairOnce(timestamp, nonce, dedupKey(message));
      return message;
    }
    // Safe mode: only encrypted pushes. (A plaintext push's signature does not cover its body.)
    if (query.encrypt_type !== 'aes') throw invalidPush('Safe mode: the push must be encrypted (encrypt_type=aes)');
    if (typeof query.msg_signature !== 'string' || !query.msg_signature) throw new UnauthorizedError('msg_signature is required in safe mode', 'INVALID_SIGNATURE');
    const encrypted = encryptedField(body);
    if (!encrypted) throw invalidPush('The push has no Encrypt field');
    if (!signatureMatches(pushSignature(token, timestamp, nonce, encrypted), query.msg_signature)) {
      throw new UnauthorizedError('Bad msg_signature', 'INVALID_SIGNATURE');
    }
    let plain: string;
    try {
      plain = new WXBizMsgCrypt(aesKey, this.WXAuth.appid).decrypt(encrypted);
    } catch (err) {
      if (err instanceof MsgCryptError) throw invalidPush(`The push could not be decrypted: ${err.reason}`);
      throw err;
    }
    return parseBody(plain);
  }

  /**
   * Plaintext mode: the first message signed with a (timestamp, nonce) pair owns it for the
   * timestamp window, on every worker and host (a MongoDB record with a TTL). The same message
   * again (WeChat retrying) passes on to the dedupe; a different one under that pair is refused.
   */
  private async acceptPairOnce(timestamp: string, nonce: string, key: string): Promise<void> {
    const _id = `${this.WXAuth.appid}:${timestamp}:${nonce}`;
    const expiresAt = new Date((Number(timestamp) + this.settings.maxSkewSeconds) * 1000 + 60_000);
    try {
      await this.ctx.models.PushNonce.create({ _id, key, expiresAt });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const first = await this.ctx.models.PushNonce.findById(_id, 'key').lean();
      if (first?.key !== key) throw invalidPush('This timestamp and nonce already signed another message');
    }
  }

  /** The plaintext-mode `signature`: sha1 of the sorted token, timestamp and nonce. */
  private checkSignature(query: PushQuery): void {
    if (!signatureMatches(pushSignature(this.settings.token, String(query.timestamp), String(query.nonce ?? '')), query.signature)) {
      throw new UnauthorizedError('Bad signature', 'INVALID_SIGNATURE');
    }
  }

  private checkTimestamp(raw: unknown): void {
    if (typeof raw !== 'string' || !/^\d{1,12}$/.test(raw)) throw invalidPush('timestamp is required');
    if (Math.abs(Date.now() / 1000 - Number(raw)) > this.settings.maxSkewSeconds) {
      throw invalidPush('The push timestamp is more than 5 minutes from now');
    }
  }
}
