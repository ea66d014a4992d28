import crypto from 'node:crypto';
import { Types, mongo } from 'mongoose';
import WxmpIndexService from './index';
import { configuredApps, findApp } from '../../lib/apps';
import { mpConnection, isDuplicateKey } from '../../lib/db';
import { ApiError, BadRequestError, ConflictError, NotFoundError, WeChatError } from '../../lib/errors';
import { tokenReads } from '../../lib/metrics';
import { SingleFlight } from '../../lib/single_flight';
import { subscribeDataProblem } from '../../lib/subscribe_data';
import { appLinks } from './user';
import type { SubscribeSendBody, UrllinkBody, WxacodeBody } from '../../lib/openapi';
import type { WeChatReply } from './client';

/** What wx.requestSubscribeMessage answers per template id. */
export type SubscribeAnswer = 'accept' | 'reject' | 'ban' | 'filter';

const PAYLOAD_MAX_BYTES = 1024;
/** A sent one-time subscription per accept; more than this banked is a client bug. */
const MAX_BANKED_SENDS = 1000;
const codeFlights = new SingleFlight();

/**
 * The team's WeChat gateway: subscribe messages with the user's consent counted,
 * mini-program codes cached, URL links, and the access_token in WeChat's own shape for SDKs.
 * Every call to WeChat goes through the central token (one retry on 40001/42001).
 */
export default class GatewayService extends WxmpIndexService {
  // ---- subscribe messages ----

  /** Records what the user answered wx.requestSubscribeMessage: each `accept` allows one send. */
  async recordSubscriptions(uid: string, answers: Record<string, SubscribeAnswer>): Promise<Record<string, { status: SubscribeAnswer; remaining: number }>> {
    const { appid } = this.WXAuth;
    const result: Record<string, { status: SubscribeAnswer; remaining: number }> = {};
    for (const [ templateId, status ] of Object.entries(answers)) {
      const update = status === 'accept'
        ? { $set: { status, updatedAt: new Date(), uid: new Types.ObjectId(uid), appid, templateId }, $inc: { remaining: 1 } }
        : { $set: { status, updatedAt: new Date(), uid: new Types.ObjectId(uid), appid, templateId, ...(status === 'ban' ? { remaining: 0 } : {}) }, $setOnInsert: status === 'ban' ? {} : { remaining: 0 } };
      const doc = await this.ctx.models.Subscription.findOneAndUpdate({ _id: `${uid}:${appid}:${templateId}` }, update, { upsert: true, new: true }).lean();
      if (doc && doc.remaining > MAX_BANKED_SENDS) await this.ctx.models.Subscription.updateOne({ _id: doc._id }, { $set: { remaining: MAX_BANKED_SENDS } });
      result[templateId] = { status, remaining: Math.min(doc?.remaining ?? 0, MAX_BANKED_SENDS) };
    }
    return result;
  }

  /**
   * Sends a subscribe message to the user in this request's app. Refused without a call to
   * WeChat when the user has no accepted send left (409 NO_SUBSCRIPTION) or a value breaks its
   * key's rule (400 INVALID_PARAM). With an Idempotency-Key, a retried request answers the
   * first outcome and never sends twice. Every send is recorded (30 days).
   */
  async sendSubscribeMessage(input: SubscribeSendBody, idempotencyKey: string | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
    const problem = subscribeDataProblem(input.data);
    if (problem) throw new BadRequestError(problem);
    const { appid } = this.WXAuth;
    const caller = this.ctx.internalCaller ?? 'unknown';
    const sends = this.ctx.models.MessageSend;
    let record: { _id: Types.ObjectId } | undefined;
    const base = { uid: new Types.ObjectId(input.uid), appid, templateId: input.template_id, caller, at: new Date() };
    if (idempotencyKey) {
      const key = `${caller}:${idempotencyKey}`;
      try {
        record = await sends.create({ ...base, idempotencyKey: key, status: 'pending' });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        return this.firstOutcome(key);
      }
    }
    const outcome = await this.trySend(input, appid).catch((err: unknown) => {
      if (err instanceof ApiError) return { status: err.status, body: { code: err.code, message: err.message }, errcode: err instanceof WeChatError ? err.errcode : undefined, sent: false };
      throw err;
    });
    const $set = { status: outcome.sent ? 'sent' : outcome.status >= 500 ? 'failed' : 'refused', httpStatus: outcome.status, answer: outcome.body, ...(outcome.errcode !== undefined ? { errcode: outcome.errcode } : {}) } as const;
    if (record) await sends.updateOne({ _id: record._id }, { $set });
    else await sends.create({ ...base, ...$set });
    this.ctx.logger.info('[gateway] %s: subscribe message %s to user %s: %s', caller, input.template_id, input.uid, $set.status);
    return { status: outcome.status, body: outcome.body };
  }

  private async firstOutcome(key: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const first = await this.ctx.models.MessageSend.findOne({ idempotencyKey: key }).lean();
      if (first && first.status !== 'pending' && first.httpStatus) return { status: first.httpStatus, body: first.answer ?? {} };
      if (Date.now() > deadline) {
        const busy = new ApiError(503, 'BUSY', 'The first request with this Idempotency-Key is still being sent; retry shortly');
        busy.retryAfterSeconds = 1;
        throw busy;
      }
      await new Promise(r => setTimeout(r, 100));
    }
  }

  private async trySend(input: SubscribeSendBody, appid: string): Promise<{ status: number; body: Record<string, unknown>; errcode?: number; sent: boolean }> {
    const user = await this.ctx.models.Account.User.findById(Types.ObjectId.isValid(input.uid) ? input.uid : null, { openId: 1, appid: 1, wxApps: 1 }).lean();
    if (!user) throw new NotFoundError('No such user');
    const openid = appLinks(user, this.config.wxmp.appid).find(l => l.appid === appid)?.openid;
    if (!openid) throw new ConflictError(`The user has not logged in to ${appid}: WeChat knows no openid of theirs there`, 'NO_SUBSCRIPTION');
    const subscriptions = this.ctx.models.Subscription;
    const _id = `${input.uid}:${appid}:${input.template_id}`;
    // One accepted send, taken atomically: two concurrent sends cannot both use the last one.
    const taken = await subscriptions.findOneAndUpdate({ _id, status: 'accept', remaining: { $gt: 0 } }, { $inc: { remaining: -1 } }, { new: true }).lean();
    if (!taken) throw new ConflictError('The user has no accepted send of this template left; ask again with wx.requestSubscribeMessage', 'NO_SUBSCRIPTION');
    const { client, auth } = this.service.wxminiprogram;
    try {
      const reply = await auth.withAccessToken(access_token => client.request<WeChatReply & { msgid?: number }>('/cgi-bin/message/subscribe/send', {
        method: 'POST',
        query: { access_token },
        body: { touser: openid, template_id: input.template_id, data: input.data, ...(input.page ? { page: input.page } : {}), ...(input.miniprogram_state ? { miniprogram_state: input.miniprogram_state } : {}), ...(input.lang ? { lang: input.lang } : {}) },
      }));
      return { status: 200, body: { status: 'sent', msgid: reply.msgid ?? null, remaining: taken.remaining }, sent: true };
    } catch (err) {
      if (err instanceof WeChatError && err.failure === 'errcode' && err.errcode === 43101) {
        // The user refused (or turned the template off): no send is allowed until they accept again.
        await subscriptions.updateOne({ _id }, { $set: { status: 'reject', remaining: 0, updatedAt: new Date() } });
      } else {
        // Not sent: the consent is the user's still.
        await subscriptions.updateOne({ _id }, { $inc: { remaining: 1 } });
      }
      throw err;
    }
  }

  // ---- mini-program codes ----

  private get codes(): mongo.GridFSBucket {
    const db = mpConnection(this.app).db;
    if (!db) throw new ApiError(503, 'DB_UNAVAILABLE', 'Database unavailable, retry shortly');
    return new mongo.GridFSBucket(db, { bucketName: 'wxacodes' });
  }

  /**
   * The PNG of a mini-program code (getwxacodeunlimit). A `payload` is stored and the scene is
   * its short id. The same parameters answer the cached image without calling WeChat again
   * (a code never expires); WeChat's JSON errors are never cached.
   */
  async wxacode(input: WxacodeBody): Promise<{ png: Buffer; scene: string; cached: boolean }> {
    const { appid } = this.WXAuth;
    let scene = input.scene;
    if (input.payload !== undefined) {
      const json = JSON.stringify(input.payload);
      if (Buffer.byteLength(json) > PAYLOAD_MAX_BYTES) throw new BadRequestError(`payload must be JSON of at most ${PAYLOAD_MAX_BYTES} bytes`);
      // The same payload, the same scene (and so the same cached code).
      scene = crypto.createHash('sha256').update(`${appid}\n${json}`).digest('base64url')
        .slice(0, 22);
      await this.ctx.models.WxaScene.updateOne({ _id: scene }, { $setOnInsert: { appid, payload: input.payload, createdAt: new Date() } }, { upsert: true })
        .catch((err: unknown) => { if (!isDuplicateKey(err)) throw err; });
    }
    if (!scene) throw new BadRequestError('send scene or payload');
    const params = {
      scene, ...(input.page ? { page: input.page } : {}), width: input.width ?? 430, env_version: input.env_version ?? 'release',
      check_path: input.check_path ?? true, auto_color: input.auto_color ?? false, ...(input.line_color ? { line_color: input.line_color } : {}), is_hyaline: input.is_hyaline ?? false,
    };
    const key = crypto.createHash('sha256').update(JSON.stringify([ appid, params ])).digest('hex');
    const cached = await this.readCode(key);
    if (cached) return { png: cached, scene, cached: true };
    const png = await codeFlights.run(key, async () => {
      const again = await this.readCode(key);
      if (again) return again;
      const { client, auth } = this.service.wxminiprogram;
      const image = await auth.withAccessToken(access_token => client.requestImage('/wxa/getwxacodeunlimit', { query: { access_token }, body: params }));
      await new Promise<void>((resolve, reject) => {
        const upload = this.codes.openUploadStream(key, { metadata: { appid, scene, contentType: 'image/png' } });
        upload.on('finish', () => resolve());
        upload.on('error', reject);
        upload.end(image);
      });
      return image;
    });
    return { png, scene, cached: false };
  }

  private async readCode(key: string): Promise<Buffer | undefined> {
    const codes = this.codes;
    const files = await codes.find({ filename: key }).sort({ uploadDate: 1 }).limit(1)
      .toArray();
    if (!files.length) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of codes.openDownloadStream(files[0]._id)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The payload behind a code's scene (public: the mini-program reads it on launch). */
  async scenePayload(scene: string): Promise<unknown> {
    const found = /^[A-Za-z0-9_-]{22}$/.test(scene) ? await this.ctx.models.WxaScene.findById(scene, { payload: 1 }).lean() : null;
    if (!found) throw new NotFoundError('No such scene');
    return found.payload;
  }

  // ---- URL links ----

  async urllink(input: UrllinkBody): Promise<{ url_link: string }> {
    const now = Math.floor(Date.now() / 1000);
    if (input.expire_time !== undefined && (input.expire_time <= now || input.expire_time - now > 30 * 86_400)) {
      throw new BadRequestError('expire_time must be in the next 30 days (WeChat allows no more)');
    }
    const { client, auth } = this.service.wxminiprogram;
    const body = {
      ...(input.path !== undefined ? { path: input.path } : {}), ...(input.query !== undefined ? { query: input.query } : {}),
      ...(input.expire_interval !== undefined ? { expire_type: 1, expire_interval: input.expire_interval } : input.expire_time !== undefined ? { expire_type: 0, expire_time: input.expire_time } : { expire_type: 1, expire_interval: 30 }),
      ...(input.env_version ? { env_version: input.env_version } : {}),
    };
    const reply = await auth.withAccessToken(access_token => client.request<WeChatReply & { url_link?: string }>('/wxa/generate_urllink', { method: 'POST', query: { access_token }, body }));
    if (typeof reply.url_link !== 'string') throw new WeChatError('/wxa/generate_urllink', 'bad_response', -2, 'no url_link in the answer');
    return { url_link: reply.url_link };
  }

  // ---- the access_token in WeChat's shape ----

  /**
   * `/cgi-bin/token` and `/cgi-bin/stable_token` as WeChat answers them, for SDKs whose token
   * URL points here: the caller proves the app as WeChat would (AppID and that app's AppSecret,
   * compared in constant time) and gets the central token; errors are WeChat's errcodes. Never
   * calls WeChat on the caller's behalf (the central refresh does that as always).
   */
  async sdkToken(grantType: unknown, appid: unknown, secret: unknown, via: 'token' | 'stable_token'): Promise<Record<string, unknown>> {
    const rid = () => ` rid: ${crypto.randomBytes(4).toString('hex')}`;
    if (grantType !== 'client_credential') return { errcode: 40002, errmsg: `invalid grant_type${rid()}` };
    if (typeof appid !== 'string' || !appid) return { errcode: 41002, errmsg: `appid missing${rid()}` };
    if (typeof secret !== 'string' || !secret) return { errcode: 41004, errmsg: `appsecret missing${rid()}` };
    const app = findApp(this.config.wxmp, appid);
    const digest = (v: string) => crypto.createHash('sha256').update(v).digest();
    // Compared even for an unknown AppID, so the answer's timing tells nothing.
    const expected = app?.secret ?? configuredApps(this.config.wxmp)[0].secret;
    const matches = crypto.timingSafeEqual(digest(expected), digest(secret));
    if (!app) return { errcode: 40013, errmsg: `invalid appid${rid()}` };
    if (!matches) {
      this.ctx.logger.warn('[gateway] %s asked with a wrong AppSecret for %s', via, appid);
      return { errcode: 40125, errmsg: `invalid appsecret${rid()}` };
    }
    this.ctx.wxAppid = appid;
    const token = await this.service.wxminiprogram.auth.current();
    tokenReads.inc({ appid, via });
    return { access_token: token.access_token, expires_in: Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000)) };
  }
}
