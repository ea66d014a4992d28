import WxmpIndexService from './index';
import { WeChatError, type WeChatFailure } from '../../lib/errors';
import { wechatDuration, wechatRequests } from '../../lib/metrics';

/** Fields every WeChat JSON answer may carry; 0/absent errcode means success. */
export interface WeChatReply {
  errcode?: number;
  errmsg?: string;
}

export interface WeChatRequest {
  method?: 'GET' | 'POST';
  /** Query string parameters (appid, secret, access_token, ...). */
  query?: Record<string, string>;
  /** JSON body for POST. */
  body?: Record<string, unknown>;
}

/** WeChat refusing the AppID/AppSecret pair: 40125 invalid appsecret, 40013 invalid appid. */
const SECRET_REJECTED: ReadonlySet<number> = new Set([ 40125, 40013 ]);
const SECRET_OK_EVERY_MS = 30_000;
/** When this process last recorded an accepted secret, per AppID. */
const lastAcceptedWrite = new Map<string, number>();

/** Classifies an httpclient error by its name (its message carries the URL, secret included). */
function failureOf(err: Error): WeChatFailure {
  if (/timeout/i.test(err.name)) return 'timeout';
  return /JSON|format/i.test(err.name) ? 'bad_response' : 'network';
}

/**
 * The one way out to WeChat: `ctx.curl` with a timeout and JSON, an errcode check, and a
 * typed WeChatError for every failure. Log lines name the path, never the query string.
 */
export default class WeChatClientService extends WxmpIndexService {
  async request<T extends WeChatReply>(path: string, req: WeChatRequest = {}): Promise<T> {
    return this.measured(path, req, () => this.call<T>(path, req));
  }

  /**
   * A WeChat call answering an image on success and JSON `{ errcode, errmsg }` on failure
   * (getwxacodeunlimit): the image's bytes, or a WeChatError; a JSON error is never returned
   * as an image.
   */
  async requestImage(path: string, req: WeChatRequest): Promise<Buffer> {
    return this.measured(path, req, () => this.callImage(path, req));
  }

  /** Times and counts one call (by app, endpoint, outcome), and notes what WeChat said of the AppSecret. */
  private async measured<T>(path: string, req: WeChatRequest, run: () => Promise<T>): Promise<T> {
    const { appid } = this.WXAuth;
    const end = wechatDuration.startTimer({ appid, endpoint: path });
    const carriesSecret = req.query?.secret !== undefined || req.body?.secret !== undefined;
    try {
      const reply = await run();
      wechatRequests.inc({ appid, endpoint: path, outcome: 'ok', errcode: '0' });
      if (carriesSecret) this.noteSecret();
      return reply;
    } catch (err) {
      const wx = err as WeChatError;
      wechatRequests.inc({ appid, endpoint: path, outcome: wx.failure ?? 'network', errcode: String(wx.errcode ?? -2) });
      if (carriesSecret && wx.failure === 'errcode' && SECRET_REJECTED.has(wx.errcode)) this.noteSecret(wx.errcode);
      throw err;
    } finally {
      end();
    }
  }

  /**
   * Records what WeChat said of the AppSecret (wx_secret_state, read by /health): every
   * refusal, and an acceptance at most every SECRET_OK_EVERY_MS per process (logins are
   * frequent; the record only has to move past the last refusal). Never fails the call.
   */
  private noteSecret(errcode?: number): void {
    const { appid } = this.WXAuth;
    const now = Date.now();
    if (errcode === undefined) {
      if (now - (lastAcceptedWrite.get(appid) ?? 0) < SECRET_OK_EVERY_MS) return;
      lastAcceptedWrite.set(appid, now);
    } else {
      lastAcceptedWrite.delete(appid);
    }
    const $set = errcode === undefined ? { acceptedAt: new Date(now) } : { rejectedAt: new Date(now), errcode };
    this.ctx.models.WxSecretState.updateOne({ _id: appid }, { $set }, { upsert: true }).catch(() => undefined);
  }

  /** One HTTP exchange with WeChat; a transport failure (timeout, refused, unparseable JSON) is a WeChatError. */
  private async send<T>(path: string, req: WeChatRequest, options: { dataType?: 'json'; method: 'GET' | 'POST' }): Promise<{ status: number; headers: Record<string, unknown>; data: T }> {
    const url = new URL(`${this.WXAuth.apiBase}${path}`);
    for (const [ k, v ] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    try {
      const res = await this.ctx.curl<T>(url.toString(), {
        method: options.method,
        ...(options.dataType ? { dataType: options.dataType } : {}),
        timeout: this.WXAuth.requestTimeoutMs,
        ...(req.body ? { contentType: 'json', data: req.body } : {}),
      });
      return { status: res.status, headers: res.headers as Record<string, unknown>, data: res.data };
    } catch (thrown) {
      const err = thrown instanceof Error ? thrown : new Error(String(thrown));
      throw this.fail(new WeChatError(path, failureOf(err), -2, err.name));
    }
  }

  private async callImage(path: string, req: WeChatRequest): Promise<Buffer> {
    const res = await this.send<Buffer>(path, { ...req, body: req.body ?? {} }, { method: 'POST' });
    const type = String(res.headers['content-type'] ?? '');
    if (res.status === 200 && type.startsWith('image/') && res.data.length > 8) return res.data;
    let reply: WeChatReply | undefined;
    try {
      reply = JSON.parse(res.data.toString('utf8')) as WeChatReply;
    } catch {
      reply = undefined;
    }
    throw this.fail(typeof reply?.errcode === 'number' && reply.errcode !== 0
      ? new WeChatError(path, 'errcode', reply.errcode, String(reply.errmsg ?? ''))
      : new WeChatError(path, 'bad_response', -2, `HTTP ${res.status} ${type || 'no content-type'}`));
  }

  private async call<T extends WeChatReply>(path: string, req: WeChatRequest): Promise<T> {
    const { status, data } = await this.send<unknown>(path, req, { method: req.method ?? 'GET', dataType: 'json' });
    if (status >= 500 || data === null || typeof data !== 'object') {
      throw this.fail(new WeChatError(path, 'bad_response', -2, `HTTP ${status}`));
    }
    const reply = data as T;
    if (typeof reply.errcode === 'number' && reply.errcode !== 0) {
      throw this.fail(new WeChatError(path, 'errcode', reply.errcode, String(reply.errmsg ?? '')));
    }
    return reply;
  }

  private fail(err: WeChatError): WeChatError {
    const detail = err.failure === 'errcode' ? `errcode=${err.errcode} errmsg=${err.errmsg}` : `${err.failure} (${err.errmsg})`;
    this.ctx.logger.warn('[wechat] %s failed: %s', err.endpoint, detail);
    return err;
  }
}
