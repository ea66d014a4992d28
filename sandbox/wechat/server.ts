/**
 * A double of the WeChat server API for development and tests. It speaks the documented
 * endpoints and errors, hands out login codes and phone codes the way wx.login and
 * getPhoneNumber would, derives session_keys so tests can build real ciphertexts, counts
 * calls per endpoint, and injects faults on request. Production talks to WeChat itself.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayDouble } from './gateway';
import { ContentSecurity, traceId, type PushRecord, type PushTarget, type Verdict } from './security';

export interface WeChatApp {
  appid: string;
  secret: string;
}

/** WeChat's account events (授权用户信息变更). */
export type AccountEvent = 'user_authorization_revoke' | 'user_authorization_cancellation' | 'user_info_modified';

export type FaultKind = 'latency' | 'http5xx' | 'errcode' | 'garbage' | 'hang' | 'reply';

export interface Fault {
  /** Endpoint path it applies to (`/cgi-bin/token`); every endpoint when omitted. */
  path?: string;
  kind: FaultKind;
  /** Delay for `latency` (ms). */
  ms?: number;
  /** errcode for `errcode` (default -1, "system busy"). */
  errcode?: number;
  /** errmsg for `errcode` (default: WeChat's text for that errcode). */
  errmsg?: string;
  /** How many requests it affects; unlimited when omitted. */
  times?: number;
  /** For `reply`: a well-formed JSON answer sent as is (`{}`, a token without expires_in...). */
  body?: Record<string, unknown>;
}

export interface WeChatDoubleOptions {
  port?: number;
  /** Registered mini-programs; the dev and test apps when omitted. */
  apps?: WeChatApp[];
  /** access_token lifetime in seconds (WeChat: 7200). */
  tokenTtlSeconds?: number;
  /** How long a superseded token keeps working (WeChat documents 5 minutes). */
  graceSeconds?: number;
  /** jscode2session calls allowed per openid per minute before 45011. */
  loginsPerMinute?: number;
}

interface IssuedToken {
  value: string;
  expiresAt: number;
}

interface TokenSlot {
  current?: IssuedToken;
  previous?: IssuedToken & { graceUntil: number };
}

/** Every session_key any double handed out in this process, so tests can prove none leaked. */
export const ISSUED_SESSION_KEYS = new Set<string>();

export const DEFAULT_APPS: WeChatApp[] = [
  { appid: 'wxsandbox0000000001', secret: 'sandbox-app-secret' },
  { appid: 'wxsandbox0000000002', secret: 'sandbox-merchant-secret' },
  { appid: 'wxtest00000000000001', secret: 'test-app-secret-value' },
];

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40029: 'invalid code',
  40125: 'invalid appsecret',
  40163: 'code been used',
  40003: 'invalid openid',
  40129: 'invalid scene',
  40226: 'high risk user, login denied',
  44002: 'empty post data',
  61010: 'user is inactive, user must visit the mini program within 2 hours',
  40037: 'invalid template_id',
  43101: 'user refuse to accept the msg',
  47003: 'argument invalid!',
  40159: 'invalid length for path, or the data is not json string',
  40169: 'invalid length for scene, or the data is not json string',
  41030: 'invalid page',
  40165: 'invalid weapp pagepath',
  40212: 'invalid query',
  85401: 'time limit between 1min and 1year',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit  mustslower  retry next minute',
  47001: 'data format error',
};

/** What a test or the client simulator needs to play the mini-program side. */
export interface EncryptedPayload {
  encryptedData: string;
  iv: string;
}

export class WeChatDouble {
  readonly calls: Record<string, number> = {};
  private readonly apps = new Map<string, string>();
  private readonly classic = new Map<string, TokenSlot>();
  private readonly stable = new Map<string, TokenSlot>();
  private readonly loginCodes = new Map<string, { appid: string; openid: string; unionid: string | null; used: boolean }>();
  private readonly phoneCodes = new Map<string, { appid: string; phoneNumber: string; countryCode: string; used: boolean }>();
  private readonly riskyOpenids = new Set<string>();
  private readonly loginTimes = new Map<string, number[]>();
  /** appid:openid -> when jscode2session last succeeded (content security needs a recent visit). */
  private readonly lastVisit = new Map<string, number>();
  /** appid:openid pairs a login code was ever issued for: the openids WeChat knows. */
  private readonly knownOpenids = new Set<string>();
  readonly security = new ContentSecurity();
  /** Subscribe messages, mini-program codes and URL links. */
  readonly gateway = new GatewayDouble(errcode => this.error(errcode));
  /** Images getwxacodeunlimit answered. */
  wxacodes = 0;
  private faults: Fault[] = [];
  private readonly seed = crypto.randomBytes(16);
  private readonly tokenTtl: number;
  private readonly grace: number;
  private readonly loginsPerMinute: number;
  server?: http.Server;
  url = '';

  constructor(options: WeChatDoubleOptions = {}) {
    for (const app of options.apps ?? DEFAULT_APPS) this.apps.set(app.appid, app.secret);
    this.tokenTtl = options.tokenTtlSeconds ?? 7200;
    this.grace = options.graceSeconds ?? 300;
    this.loginsPerMinute = options.loginsPerMinute ?? 100;
  }

  // ---- the mini-program side (what wx.login / getPhoneNumber would give the client) ----

  /**
   * A fresh single-use login code for `openid`, as wx.login returns one. jscode2session then
   * answers `unionid` (the person across the apps of one open-platform account): the one given,
   * none for `null` (an app not bound to an open-platform account), else one derived from the openid.
   */
  issueLoginCode(appid: string, openid: string, unionid?: string | null): string {
    const code = `lc_${crypto.randomBytes(12).toString('hex')}`;
    this.loginCodes.set(code, { appid, openid, unionid: unionid === undefined ? this.unionidFor(openid) : unionid, used: false });
    this.knownOpenids.add(`${appid}:${openid}`);
    return code;
  }

  /** A fresh single-use phone code, as getPhoneNumber's `code` (base library ≥ 2.21.2). */
  issuePhoneCode(appid: string, phoneNumber: string, countryCode = '86'): string {
    const code = `pc_${crypto.randomBytes(12).toString('hex')}`;
    this.phoneCodes.set(code, { appid, phoneNumber, countryCode, used: false });
    return code;
  }

  /** The session_key WeChat would hand the backend for this user: stable per appid+openid. */
  sessionKeyFor(appid: string, openid: string): string {
    return crypto.createHmac('sha256', this.seed).update(`${appid}:${openid}`).digest()
      .subarray(0, 16)
      .toString('base64');
  }

  unionidFor(openid: string): string {
    return `un_${crypto.createHash('sha256').update(openid).digest('hex')
      .slice(0, 24)}`;
  }

  /** Encrypts `data` (plus a watermark) with the user's session_key, like wx.getUserProfile/getWeRunData. */
  encryptFor(appid: string, openid: string, data: Record<string, unknown>, watermarkTimestamp = Math.floor(Date.now() / 1000)): EncryptedPayload {
    const key = Buffer.from(this.sessionKeyFor(appid, openid), 'base64');
    const iv = crypto.randomBytes(16);
    const plain = JSON.stringify({ ...data, watermark: { appid, timestamp: watermarkTimestamp } });
    const cipher = crypto.createCipheriv('aes-128-cbc', key, iv);
    const encrypted = Buffer.concat([ cipher.update(plain, 'utf8'), cipher.final() ]);
    return { encryptedData: encrypted.toString('base64'), iv: iv.toString('base64') };
  }

  /** jscode2session answers 40226 for this openid from now on. */
  markRisky(openid: string): void {
    this.riskyOpenids.add(openid);
  }

  // ---- control ----

  inject(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  resetCounts(): void {
    for (const key of Object.keys(this.calls)) delete this.calls[key];
  }

  count(path: string): number {
    return this.calls[path] ?? 0;
  }

  /** Calls to every WeChat endpoint together (control endpoints not counted). */
  totalCalls(): number {
    return Object.values(this.calls).reduce((sum, n) => sum + n, 0);
  }

  /** Is this the currently valid (or still-in-grace) token of some app? */
  isValidToken(token: string): boolean {
    return this.appForToken(token) !== undefined;
  }

  private appForToken(token: string): string | undefined {
    const now = Date.now();
    for (const slots of [ this.classic, this.stable ]) {
      for (const [ appid, slot ] of slots) {
        if (slot.current?.value === token && slot.current.expiresAt > now) return appid;
        if (slot.previous?.value === token && slot.previous.graceUntil > now && slot.previous.expiresAt > now) return appid;
      }
    }
    return undefined;
  }

  // ---- HTTP ----

  async listen(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(err => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`double error: ${(err as Error).message}`);
      });
    });
    // Longer than the clients' idle keep-alive (undici's 4 s, the app's curl): the double must not
    // close a connection a client is about to reuse (Node's default is 5 s).
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
  }

  private takeFault(path: string): Fault | undefined {
    const fault = this.faults.find(f => !f.path || f.path === path);
    if (!fault) return undefined;
    if (fault.times !== undefined && --fault.times <= 0) this.faults = this.faults.filter(f => f !== fault);
    return fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const raw = await readBody(req);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith('/sandbox/')) {
      send(200, await this.control(url.pathname, req.method ?? 'GET', raw));
      return;
    }
    this.calls[url.pathname] = (this.calls[url.pathname] ?? 0) + 1;
    const fault = this.takeFault(url.pathname);
    if (fault?.kind === 'hang') return; // never answers; the caller's timeout must fire
    if (fault?.kind === 'latency') await new Promise(r => setTimeout(r, fault.ms ?? 1000));
    if (fault?.kind === 'http5xx') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>502 Bad Gateway</body></html>');
      return;
    }
    if (fault?.kind === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"access_token": "half a body');
      return;
    }
    if (fault?.kind === 'reply') {
      send(200, fault.body ?? {});
      return;
    }
    if (fault?.kind === 'errcode') {
      const errcode = fault.errcode ?? -1;
      send(200, { errcode, errmsg: fault.errmsg ?? ERRMSG[errcode] ?? 'injected error' });
      return;
    }
    let body: Record<string, unknown> = {};
    if (raw.length) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        send(200, this.error(47001));
        return;
      }
    }
    const q = (name: string): string => String(url.searchParams.get(name) ?? body[name] ?? '');
    const gatewayApp = this.appForToken(url.searchParams.get('access_token') ?? '');
    if (url.pathname === '/wxa/getwxacodeunlimit') {
      if (!gatewayApp) return send(200, this.error(40001));
      const answer = this.gateway.wxacodeUnlimit(body);
      if (!Buffer.isBuffer(answer)) return send(200, answer);
      this.wxacodes++;
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': answer.length });
      res.end(answer);
      return;
    }
    switch (url.pathname) {
      case '/cgi-bin/message/subscribe/send':
        send(200, gatewayApp ? this.gateway.subscribeSend(gatewayApp, openid => this.knownOpenids.has(`${gatewayApp}:${openid}`), body) : this.error(40001));
        return;
      case '/wxa/generate_urllink': send(200, gatewayApp ? this.gateway.generateUrllink(body) : this.error(40001)); return;
      case '/cgi-bin/token': send(200, this.token(q('grant_type'), q('appid'), q('secret'))); return;
      case '/cgi-bin/stable_token': send(200, this.stableToken(q('grant_type'), q('appid'), q('secret'), body.force_refresh === true)); return;
      case '/sns/jscode2session': send(200, this.jscode2session(q('appid'), q('secret'), q('js_code'), q('grant_type'))); return;
      case '/wxa/business/getuserphonenumber': send(200, this.phoneNumber(url.searchParams.get('access_token') ?? '', String(body.code ?? ''))); return;
      case '/wxa/msg_sec_check': send(200, this.msgSecCheck(url.searchParams.get('access_token') ?? '', body)); return;
      case '/wxa/media_check_async': send(200, this.mediaCheckAsync(url.searchParams.get('access_token') ?? '', body)); return;
      default: send(404, { errcode: 404, errmsg: `no such endpoint ${url.pathname}` });
    }
  }

  private error(errcode: number): { errcode: number; errmsg: string } {
    return { errcode, errmsg: `${ERRMSG[errcode] ?? 'error'} rid: ${crypto.randomBytes(4).toString('hex')}` };
  }

  private checkCredentials(appid: string, secret: string): { errcode: number; errmsg: string } | undefined {
    if (!appid) return this.error(41002);
    if (!secret) return this.error(41004);
    const expected = this.apps.get(appid);
    if (expected === undefined) return this.error(40013);
    if (expected !== secret) return this.error(40125);
    return undefined;
  }

  private rotate(slots: Map<string, TokenSlot>, appid: string): IssuedToken {
    const now = Date.now();
    const slot = slots.get(appid) ?? {};
    if (slot.current) slot.previous = { ...slot.current, graceUntil: now + this.grace * 1000 };
    slot.current = { value: `AT_${crypto.randomBytes(24).toString('base64url')}`, expiresAt: now + this.tokenTtl * 1000 };
    slots.set(appid, slot);
    return slot.current;
  }

  private token(grantType: string, appid: string, secret: string): object {
    if (grantType !== 'client_credential') return this.error(40002);
    const bad = this.checkCredentials(appid, secret);
    if (bad) return bad;
    const issued = this.rotate(this.classic, appid);
    return { access_token: issued.value, expires_in: this.tokenTtl };
  }

  private stableToken(grantType: string, appid: string, secret: string, force: boolean): object {
    if (grantType !== 'client_credential') return this.error(40002);
    const bad = this.checkCredentials(appid, secret);
    if (bad) return bad;
    const current = this.stable.get(appid)?.current;
    const now = Date.now();
    // Normal mode returns the same token while it has more than the grace period left.
    const issued = !force && current && current.expiresAt - now > this.grace * 1000 ? current : this.rotate(this.stable, appid);
    return { access_token: issued.value, expires_in: Math.floor((issued.expiresAt - now) / 1000) };
  }

  private jscode2session(appid: string, secret: string, code: string, grantType: string): object {
    if (grantType !== 'authorization_code') return this.error(40002);
    const bad = this.checkCredentials(appid, secret);
    if (bad) return bad;
    if (!code) return this.error(41008);
    const entry = this.loginCodes.get(code);
    if (!entry || entry.appid !== appid) return this.error(40029);
    if (entry.used) return this.error(40163);
    entry.used = true;
    if (this.riskyOpenids.has(entry.openid)) return this.error(40226);
    const now = Date.now();
    const recent = (this.loginTimes.get(entry.openid) ?? []).filter(t => now - t < 60_000);
    recent.push(now);
    this.loginTimes.set(entry.openid, recent);
    if (recent.length > this.loginsPerMinute) return this.error(45011);
    const sessionKey = this.sessionKeyFor(appid, entry.openid);
    ISSUED_SESSION_KEYS.add(sessionKey);
    this.lastVisit.set(`${appid}:${entry.openid}`, now);
    return { openid: entry.openid, session_key: sessionKey, ...(entry.unionid === null ? {} : { unionid: entry.unionid }) };
  }

  private phoneNumber(accessToken: string, code: string): object {
    const appid = this.appForToken(accessToken);
    if (!appid) return this.error(40001);
    const entry = this.phoneCodes.get(code);
    if (!entry || entry.appid !== appid || entry.used) return this.error(40029);
    entry.used = true;
    const purePhoneNumber = entry.phoneNumber;
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: entry.countryCode === '86' ? purePhoneNumber : `+${entry.countryCode}${purePhoneNumber}`,
        purePhoneNumber,
        countryCode: entry.countryCode,
        watermark: { timestamp: Math.floor(Date.now() / 1000), appid },
      },
    };
  }

  /** The checks content security v2 makes of every call, in WeChat's order. */
  private securityPreconditions(accessToken: string, body: Record<string, unknown>): { appid: string; openid: string } | { errcode: number; errmsg: string } {
    const appid = this.appForToken(accessToken);
    if (!appid) return this.error(40001);
    if (body.version !== 2) return this.error(47001);
    const openid = typeof body.openid === 'string' ? body.openid : '';
    if (!openid || !this.knownOpenids.has(`${appid}:${openid}`)) return this.error(40003);
    if (![ 1, 2, 3, 4 ].includes(Number(body.scene))) return this.error(40129);
    const visited = this.lastVisit.get(`${appid}:${openid}`);
    if (visited === undefined || Date.now() - visited > 2 * 3600_000) return this.error(61010);
    return { appid, openid };
  }

  private msgSecCheck(accessToken: string, body: Record<string, unknown>): object {
    const pre = this.securityPreconditions(accessToken, body);
    if ('errcode' in pre) return pre;
    if (typeof body.content !== 'string' || !body.content) return this.error(44002);
    const text = [ body.content, body.nickname, body.title, body.signature ].filter(v => typeof v === 'string').join('\n');
    return this.security.msgSecCheckAnswer(text);
  }

  private mediaCheckAsync(accessToken: string, body: Record<string, unknown>): object {
    const pre = this.securityPreconditions(accessToken, body);
    if ('errcode' in pre) return pre;
    if (typeof body.media_url !== 'string' || !/^https?:\/\//.test(body.media_url)) return this.error(44002);
    if (body.media_type !== 1 && body.media_type !== 2) return this.error(47001);
    const trace = this.security.mediaTraceIds.shift() ?? traceId();
    this.security.startMediaCheck(pre.appid, pre.openid, body.media_url, trace);
    return { errcode: 0, errmsg: 'ok', trace_id: trace };
  }

  /**
   * Pushes one of WeChat's account events (授权用户信息变更) about `openid` to the app's push
   * target, signed (and encrypted in safe mode) like every push, in the documented shape:
   * `{ ToUserName, FromUserName (the platform's push account), CreateTime, MsgType: "event",
   * Event, OpenID, AppID, RevokeInfo? }`. RevokeInfo for a mini-program: 6 nickname and avatar,
   * 8 phone number, 12 WeRun, 19 the nickname keyboard's nickname, 20 the avatar component's
   * avatar, ... (comma-separated when several). Undefined when the app has no push target.
   */
  async pushAccountEvent(appid: string, openid: string, event: AccountEvent, revokeInfo?: string): Promise<PushRecord | undefined> {
    const target = this.security.pushTargets.get(appid);
    if (!target) return undefined;
    const message: Record<string, unknown> = {
      ToUserName: target.toUser ?? 'gh_sandbox0000001',
      FromUserName: 'oPlatformPushService0000000',
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'event',
      Event: event,
      OpenID: openid,
      AppID: appid,
      ...(event === 'user_authorization_revoke' ? { RevokeInfo: revokeInfo ?? '' } : {}),
    };
    return this.security.push(appid, target, message);
  }

  /** Where and how the double pushes events for `appid` (the console's URL/Token/EncodingAESKey/format). */
  setPushTarget(appid: string, target: PushTarget | undefined): void {
    if (target) this.security.pushTargets.set(appid, target);
    else this.security.pushTargets.delete(appid);
  }

  /** `/sandbox/*`: the client simulator's and the fault suite's handle on the double. */
  private async control(path: string, method: string, raw: string): Promise<unknown> {
    const body = raw ? JSON.parse(raw) as Record<string, unknown> : {};
    const appid = String(body.appid ?? DEFAULT_APPS[0].appid);
    switch (`${method} ${path}`) {
      case 'POST /sandbox/login': {
        const count = Math.min(Number(body.count ?? 1) || 1, 100_000);
        const unionid = typeof body.unionid === 'string' ? body.unionid : undefined;
        const codes = Array.from({ length: count }, () => this.issueLoginCode(appid, String(body.openid), unionid));
        return count === 1 && body.count === undefined ? { code: codes[0] } : { codes };
      }
      case 'POST /sandbox/phone-code': return { code: this.issuePhoneCode(appid, String(body.phoneNumber), String(body.countryCode ?? '86')) };
      case 'POST /sandbox/encrypt': return this.encryptFor(appid, String(body.openid), (body.data ?? {}) as Record<string, unknown>);
      case 'POST /sandbox/faults': this.inject(body as unknown as Fault); return { ok: true };
      case 'DELETE /sandbox/faults': this.clearFaults(); return { ok: true };
      case 'GET /sandbox/stats': return { calls: this.calls };
      case 'POST /sandbox/check-token': return { valid: this.isValidToken(String(body.token)) };
      case 'POST /sandbox/push-target': this.setPushTarget(appid, body.url ? body as unknown as PushTarget : undefined); return { ok: true };
      case 'POST /sandbox/content-words':
        if (Array.isArray(body.risky)) this.security.riskyWords = body.risky.map(String);
        if (Array.isArray(body.review)) this.security.reviewWords = body.review.map(String);
        return { risky: this.security.riskyWords, review: this.security.reviewWords };
      case 'POST /sandbox/media-verdicts': this.security.mediaVerdicts.push(...((body.verdicts ?? []) as Verdict[])); return { queued: this.security.mediaVerdicts.length };
      case 'GET /sandbox/pushes': return { pushes: this.security.pushes };
      case 'POST /sandbox/subscribe': this.gateway.acceptSubscription(appid, String(body.openid), String(body.template_id), Number(body.times ?? 1) || 1); return { ok: true };
      case 'POST /sandbox/account-event': {
        const record = await this.pushAccountEvent(appid, String(body.openid), String(body.event) as AccountEvent, body.revokeInfo === undefined ? undefined : String(body.revokeInfo));
        return record ?? { delivered: false, lastAnswer: 'no push target for this appid' };
      }
      default: return { error: `unknown control ${method} ${path}` };
    }
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c as Buffer));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startWeChatDouble(options: WeChatDoubleOptions = {}): Promise<WeChatDouble> {
  const double = new WeChatDouble(options);
  await double.listen(options.port ?? 0);
  return double;
}
