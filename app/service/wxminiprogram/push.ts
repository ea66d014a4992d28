import { XMLParser, XMLValidator } from 'fast-xml-parser';
import WxmpIndexService from './index';
import { isDuplicateKey } from '../../lib/db';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../../lib/errors';
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

function invalidPush(message: string): BadRequestError {
  return new BadRequestError(message, 'INVALID_PUSH');
}

/** A push body, JSON or XML (the console offers both), as an object. */
function parseBody(body: unknown): PushMessage {
  if (typeof body === 'string') {
    const text = body.trim();
    if (text.startsWith('{')) {
      try {
        return parseBody(JSON.parse(text) as unknown);
      } catch {
        throw invalidPush('The push body is not valid JSON');
      }
    }
    if (!text.startsWith('<') || XMLValidator.validate(text) !== true) throw invalidPush('The push body is not valid XML or JSON');
    const parsed = xml.parse(text) as { xml?: unknown };
    if (!parsed.xml || typeof parsed.xml !== 'object') throw invalidPush('The push body has no <xml> root');
    return parsed.xml as PushMessage;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidPush('The push body is not an object');
  return body as PushMessage;
}

/** Repeated pushes of one message share this key: MsgId, else sender + CreateTime + Event + trace_id. */
export function dedupKey(message: PushMessage): string {
  if (message.MsgId !== undefined && String(message.MsgId) !== '') return `msg:${String(message.MsgId)}`;
  return [ 'evt', message.FromUserName, message.CreateTime, message.Event, message.trace_id ].map(v => String(v ?? '')).join(':');
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
    const message = this.open(query, body);
    if (typeof message.MsgType !== 'string' || !message.MsgType) throw invalidPush('The message has no MsgType');
    const id = dedupKey(message);
    try {
      await this.ctx.models.PushEvent.create({
        _id: id, appid: this.WXAuth.appid, msgType: message.MsgType, event: typeof message.Event === 'string' ? message.Event : undefined,
        fromUser: typeof message.FromUserName === 'string' ? message.FromUserName : undefined,
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

  /** Checks the signature (and, in safe mode, decrypts) and returns the message. */
  private open(query: PushQuery, body: unknown): PushMessage {
    const { token, aesKey } = this.settings;
    this.checkTimestamp(query.timestamp);
    const timestamp = String(query.timestamp);
    const nonce = String(query.nonce ?? '');
    const outer = parseBody(body);
    if (!aesKey) {
      if (query.encrypt_type === 'aes') throw invalidPush('Safe mode is not configured here (WXMP_PUSH_AES_KEY)');
      this.checkSignature(query);
      return outer;
    }
    // Safe mode: only encrypted pushes. (A plaintext push's signature does not cover its body.)
    if (query.encrypt_type !== 'aes') throw invalidPush('Safe mode: the push must be encrypted (encrypt_type=aes)');
    const encrypted = outer.Encrypt;
    if (typeof encrypted !== 'string' || !encrypted) throw invalidPush('The push has no Encrypt field');
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
