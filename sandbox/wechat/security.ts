/**
 * The WeChat double's content security (内容安全 v2) and message push (消息推送), as WeChat
 * documents them: msg_sec_check answers a verdict at once; media_check_async answers a
 * trace_id, fetches media_url like WeChat does (an unreachable URL is a `review`, never a
 * `pass`), then pushes the `wxa_media_check` event to the configured push URL, signed and,
 * with an EncodingAESKey, encrypted exactly like WeChat. Its own small implementation of
 * the push crypto, independent of the app's, so the tests mean something.
 */
import crypto from 'node:crypto';

export type Suggest = 'pass' | 'review' | 'risky';

export interface Verdict {
  suggest: Suggest;
  /** 100 normal, 10001 ad, 20001 political, 20002 porn, 20003 abuse, 20006 illegal, 20008 fraud, 20012 vulgar, 21000 other */
  label: number;
}

export interface PushTarget {
  url: string;
  token: string;
  /** The EncodingAESKey: set = safe mode (encrypted pushes). */
  aesKey?: string;
  format?: 'json' | 'xml';
  /** The mini-program's original id (ToUserName). */
  toUser?: string;
}

export interface PushRecord {
  url: string;
  event: Record<string, unknown>;
  attempts: number;
  /** What the receiver answered last (status and body), or the network error. */
  lastAnswer: string;
  delivered: boolean;
}

const WORDS_RISKY = [ 'risky-word', '违禁词' ];
const WORDS_REVIEW = [ 'review-word', '待审词' ];

/** Serializes a flat-or-nested event the way WeChat's XML pushes look. */
export function toXml(value: Record<string, unknown>): string {
  const inner = (obj: Record<string, unknown>): string => Object.entries(obj).map(([ k, v ]) => {
    if (Array.isArray(v)) return v.map(item => `<${k}>${typeof item === 'object' && item ? inner(item as Record<string, unknown>) : cdata(item)}</${k}>`).join('');
    if (v && typeof v === 'object') return `<${k}>${inner(v as Record<string, unknown>)}</${k}>`;
    return `<${k}>${typeof v === 'number' ? String(v) : cdata(v)}</${k}>`;
  }).join('');
  return `<xml>${inner(value)}</xml>`;
}

function cdata(v: unknown): string {
  return `<![CDATA[${String(v ?? '').replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

function sha1Sorted(...parts: string[]): string {
  return crypto.createHash('sha1').update(parts.sort().join('')).digest('hex');
}

/** WeChat's push encryption (AES-256-CBC, PKCS#7 to 32-byte blocks). */
function encryptForPush(aesKey: string, appid: string, message: string): string {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  const body = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const plain = Buffer.concat([ crypto.randomBytes(16), len, body, Buffer.from(appid) ]);
  const pad = 32 - (plain.length % 32);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([ cipher.update(Buffer.concat([ plain, Buffer.alloc(pad, pad) ])), cipher.final() ]).toString('base64');
}

export class ContentSecurity {
  riskyWords = [ ...WORDS_RISKY ];
  reviewWords = [ ...WORDS_REVIEW ];
  /** Verdicts for the next media checks, in order; `pass` (100) when empty. */
  readonly mediaVerdicts: Verdict[] = [];
  /** trace_ids for the next media checks to answer, in order; random when empty (a test that plays WeChat's push itself needs to know them). */
  readonly mediaTraceIds: string[] = [];
  pushTargets = new Map<string, PushTarget>();
  readonly pushes: PushRecord[] = [];
  pushRetryMs = 1000;
  private readonly pending = new Set<Promise<void>>();

  /** msg_sec_check v2's verdict for `text`: risky words first, then review words. */
  textVerdict(text: string): { verdict: Verdict; keyword?: string } {
    const risky = this.riskyWords.find(w => text.includes(w));
    if (risky) return { verdict: { suggest: 'risky', label: 20006 }, keyword: risky };
    const review = this.reviewWords.find(w => text.includes(w));
    if (review) return { verdict: { suggest: 'review', label: 21000 }, keyword: review };
    return { verdict: { suggest: 'pass', label: 100 } };
  }

  msgSecCheckAnswer(text: string): Record<string, unknown> {
    const { verdict, keyword } = this.textVerdict(text);
    return {
      errcode: 0,
      errmsg: 'ok',
      result: verdict,
      detail: [
        { strategy: 'content_model', errcode: 0, suggest: verdict.suggest, label: verdict.label, prob: verdict.suggest === 'pass' ? 0 : 90 },
        ...(keyword ? [{ strategy: 'keyword', errcode: 0, suggest: verdict.suggest, label: verdict.label, level: 20, keyword }] : []),
      ],
      trace_id: traceId(),
    };
  }

  /** Starts the asynchronous part of media_check_async: fetch, judge, push. */
  startMediaCheck(appid: string, openid: string, mediaUrl: string, trace: string): void {
    const job = this.runMediaCheck(appid, openid, mediaUrl, trace).catch(() => undefined).finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Resolves when every started media check has pushed (or given up). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([ ...this.pending ]);
  }

  private async runMediaCheck(appid: string, openid: string, mediaUrl: string, trace: string): Promise<void> {
    let fetched = false;
    try {
      const res = await fetch(mediaUrl, { signal: AbortSignal.timeout(3000) });
      fetched = res.ok && (await res.arrayBuffer()).byteLength > 0;
    } catch {
      fetched = false;
    }
    // WeChat could not look at it: a person has to.
    const verdict: Verdict = fetched ? this.mediaVerdicts.shift() ?? { suggest: 'pass', label: 100 } : { suggest: 'review', label: 100 };
    const target = this.pushTargets.get(appid);
    if (!target) return;
    const event = {
      ToUserName: target.toUser ?? 'gh_sandbox0000001',
      FromUserName: openid,
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'event',
      Event: 'wxa_media_check',
      appid,
      trace_id: trace,
      version: 2,
      detail: [{ strategy: 'content_model', errcode: fetched ? 0 : 1, suggest: verdict.suggest, label: verdict.label, prob: verdict.suggest === 'pass' ? 0 : 90 }],
      errcode: 0,
      errmsg: 'ok',
      result: verdict,
    };
    await this.push(appid, target, event);
  }

  /** Delivers one event like WeChat: up to 3 retries until the receiver answers `success`. */
  async push(appid: string, target: PushTarget, event: Record<string, unknown>): Promise<PushRecord> {
    const record: PushRecord = { url: target.url, event, attempts: 0, lastAnswer: '', delivered: false };
    this.pushes.push(record);
    const format = target.format ?? 'json';
    const plain = format === 'xml' ? toXml(event) : JSON.stringify(event);
    for (let attempt = 0; attempt < 4 && !record.delivered; attempt++) {
      if (attempt) await new Promise(r => setTimeout(r, this.pushRetryMs));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = String(crypto.randomInt(1e9));
      const url = new URL(target.url);
      url.searchParams.set('signature', sha1Sorted(target.token, timestamp, nonce));
      url.searchParams.set('timestamp', timestamp);
      url.searchParams.set('nonce', nonce);
      url.searchParams.set('openid', String(event.FromUserName ?? ''));
      let body = plain;
      if (target.aesKey) {
        const encrypted = encryptForPush(target.aesKey, appid, plain);
        url.searchParams.set('encrypt_type', 'aes');
        url.searchParams.set('msg_signature', sha1Sorted(target.token, timestamp, nonce, encrypted));
        const outer = { ToUserName: event.ToUserName, Encrypt: encrypted };
        body = format === 'xml' ? toXml(outer) : JSON.stringify(outer);
      }
      record.attempts++;
      try {
        const res = await fetch(url, {
          method: 'POST', body, headers: { 'content-type': format === 'xml' ? 'text/xml' : 'application/json' }, signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        record.lastAnswer = `${res.status} ${text.slice(0, 200)}`;
        record.delivered = res.status === 200 && text === 'success';
      } catch (err) {
        record.lastAnswer = (err as Error).message;
      }
    }
    return record;
  }
}

export function traceId(): string {
  return `${crypto.randomBytes(4).toString('hex')}-${crypto.randomBytes(2).toString('hex')}-${crypto.randomBytes(8).toString('hex')}`;
}
