import type { Context, EggAppConfig, EggAppInfo, PowerPartial } from 'egg';
import type { HttpServerConfig } from '../app/lib/http_server';
import { readAppsFile, type TokenMode, type WxAppConfig } from './apps';
import { env, envInt, parseInternalKeys, previousJwtSecrets, type InternalKey } from './env';
import { mongoClientConfig } from './mongo_uri';

export type { TokenMode, WxAppConfig } from './apps';

/** WeChat mini-program settings (the seed's `config.wxmpCf`). */
export interface WxmpConfig {
  /** Mini-program AppID (`WXMP_APPID`). */
  appid: string;
  /** AppSecret (`WXMP_SECRET`). Sent only to WeChat; never logged, never returned. */
  secret: string;
  /** Base URL of the WeChat server API (`WXMP_API_BASE`). */
  apiBase: string;
  /** `classic`: GET /cgi-bin/token (the seed's); `stable`: POST /cgi-bin/stable_token (`WXMP_TOKEN_MODE`). */
  tokenMode: TokenMode;
  /** Timeout of one HTTP call to WeChat, in ms. */
  requestTimeoutMs: number;
  /** Interval of the token_refresh schedule (the seed's 10 s). */
  tokenCheckInterval: string;
  /** Refresh this many seconds before the stored token expires (from `expires_in`). */
  tokenRefreshMarginSeconds: number;
  /** How long one process may hold the refresh lease before others may take it over, in ms. */
  tokenLeaseMs: number;
  /** How long a process waits for another process's refresh before giving up, in ms. */
  tokenWaitMs: number;
  /** After a failed refresh, how long the lease stays taken so no process retries at once, in ms. */
  tokenFailureCooldownMs: number;
  /** Attempts for a token fetch that fails with errcode -1 or a network error. */
  tokenFetchAttempts: number;
  /** First backoff between those attempts, in ms (doubles each time). */
  tokenRetryBaseMs: number;
  /** A reported token younger than this is not refreshed (it was just fetched: the report is mistaken). */
  forcedRefreshMinAgeSeconds: number;
  /** At most one forced refresh (a reported token) per this many seconds, across workers and hosts. */
  forcedRefreshIntervalSeconds: number;
  /** Reject encrypted data whose watermark is older than this many seconds; 0 turns the check off (`WXMP_DECRYPT_MAX_AGE`). */
  decryptMaxAgeSeconds: number;
  /** The message push endpoint (消息推送). */
  push: PushConfig;
  /**
   * The mini-programs served, from `WXMP_APPS_FILE` (config/apps.ts). Empty: the one app of
   * `appid`, `secret`, `tokenMode` and `push` above. When set, those fields are its first app's.
   */
  apps: WxAppConfig[];
}

/** WeChat's message push: the URL/Token/EncodingAESKey filled in the mini-program console. */
export interface PushConfig {
  /** The console's Token (`WXMP_PUSH_TOKEN`); empty turns the endpoint off (404). */
  token: string;
  /** The console's EncodingAESKey, 43 characters (`WXMP_PUSH_AES_KEY`); set = safe mode (encrypted pushes only). */
  aesKey: string;
  /** Pushes whose timestamp is further than this from now are refused (replays). */
  maxSkewSeconds: number;
}

/** Stand-ins started by the agent in `local` and `unittest` only; `null` elsewhere. */
export interface SandboxConfig {
  /** Start sandbox/mongo on this port (0 = any free port) and keep data in `dbpath` (memory when absent). */
  mongo?: { port: number; dbpath?: string };
  /** Start the WeChat double on this port (0 = any free port). */
  wechat?: { port: number };
}

export interface HealthConfig {
  /** `/health` answers 503 when MongoDB does not answer a ping within this many ms. */
  timeoutMs: number;
}

/** Abuse limits (rate-limiter-flexible on MongoDB, so they hold across workers and hosts). */
export interface RateLimitConfig {
  /** Logins per client address per minute (`RATE_LIMIT_LOGIN_PER_MINUTE`); 0 turns it off. */
  loginPerMinute: number;
  /** Writes per user per minute: bindPhone, run, profile, avatar (`RATE_LIMIT_USER_PER_MINUTE`); 0 turns it off. */
  userPerMinute: number;
}

/** Load shedding: what one worker accepts before it answers 503 OVERLOADED at once (app/lib/http_server.ts). */
export interface OverloadConfig {
  /** Requests one worker serves at a time, counted once their body has arrived; more are refused at once (`OVERLOAD_MAX_IN_FLIGHT`); 0 turns it off. */
  maxInFlight: number;
  /** Requests one worker holds while their body is still arriving; more are refused at once; 0 turns it off. */
  maxBodyPending: number;
  /** A request body (JSON, XML) must arrive within this many ms of its headers, else 408 and the connection is closed. */
  bodyTimeoutMs: number;
  /** The same for a multipart upload (an avatar sent from a phone on a slow network). */
  uploadBodyTimeoutMs: number;
  /**
   * Connections one client address may hold open in one worker (`MAX_CONNECTIONS_PER_ADDRESS`);
   * requests on more are refused 503 and the connection closed. Sized for a carrier NAT, where
   * many users share an address. 0 turns it off; off behind a proxy (`TRUST_PROXY`), whose
   * address all connections share: limit connections per client there (nginx `limit_conn`).
   */
  maxConnectionsPerAddress: number;
}

export type { HttpServerConfig } from '../app/lib/http_server';

/** Avatars uploaded from `<button open-type="chooseAvatar">`. */
export interface AvatarConfig {
  /**
   * The app's public origin (`PUBLIC_BASE_URL`, e.g. `https://api.example.com`): avatar URLs
   * are built on it, and WeChat's media check fetches them from there. Empty: uploads answer
   * 503 NOT_CONFIGURED.
   */
  publicBaseUrl: string;
  /** Largest upload accepted, in bytes (`AVATAR_MAX_BYTES`, default 2 MiB); more is 413. */
  maxBytes: number;
  /** Images whose header claims more pixels are refused before decoding (decompression bombs). */
  maxInputPixels: number;
  /** Images whose header claims a longer side are refused before decoding (chooseAvatar gives cropped squares). */
  maxInputSide: number;
  /** Images longer than this many times their width (or wider than their height) are refused before decoding. */
  maxAspectRatio: number;
  /** A decode still running after this many seconds is abandoned (400 INVALID_IMAGE). */
  decodeTimeoutSeconds: number;
  /** Stored avatars fit in this many pixels per side. */
  maxSide: number;
  /** Decodes running at once per worker (sharp works off the main thread; this bounds memory and CPU). */
  concurrentDecodes: number;
  /** Uploads waiting for a decode per worker; one more is refused 503 BUSY with Retry-After. */
  decodeQueue: number;
  /** How long one user's upload holds their upload lock at most (a second upload meanwhile is 409), in ms. */
  uploadLockMs: number;
}

/** The internal API (the central access_token service, metrics) and who may call it. */
export interface InternalConfig {
  /** `INTERNAL_API_KEYS`: callers by name, with their scopes; none = the internal routes answer 404. Never logged. */
  keys: InternalKey[];
  /** How long the audit trail keeps an event (`AUDIT_RETENTION_DAYS`, default 180). */
  auditRetentionDays: number;
}

/** This app's own config sections, next to the framework's and plugins'. */
export interface BizConfig {
  wxmp: WxmpConfig;
  health: HealthConfig;
  session: SessionConfig;
  rateLimit: RateLimitConfig;
  overload: OverloadConfig;
  httpServer: HttpServerConfig;
  avatar: AvatarConfig;
  internal: InternalConfig;
  sandbox: SandboxConfig | null;
}

/** Session tokens (the seed's JWTs). */
export interface SessionConfig {
  /** Earlier JWT secrets that still verify (`JWT_PREVIOUS_SECRETS`, comma-separated): rotation without logging anyone out. */
  previousSecrets: string[];
  /**
   * Lifetime of an issued token in seconds (`JWT_EXPIRES_IN`). Verification also refuses a
   * token whose `exp` lies further ahead than this: no token may outlive what we could issue.
   */
  tokenTtlSeconds: number;
  /**
   * A login's session ends this many seconds after the login (`SESSION_MAX_AGE`, default 30
   * days): refreshes keep the session, never past this; then 401 SESSION_EXPIRED.
   */
  maxAgeSeconds: number;
  /** How long a worker trusts what it read of a session (an ended session is refused everywhere within this), in ms. */
  cacheMs: number;
}

const SPAN_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `JWT_EXPIRES_IN` and `SESSION_MAX_AGE`: seconds (`3600`) or a span (`30m`, `2h`, `7d`, `2w`). */
export function parseTokenTtl(raw: string, name = 'JWT_EXPIRES_IN'): number {
  const m = /^(\d+)(s|m|h|d|w)?$/.exec(raw);
  const seconds = m ? Number(m[1]) * SPAN_SECONDS[m[2] ?? 's'] : 0;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new Error(`${name} must be seconds or a span like 2h or 7d, got "${raw}"`);
  return seconds;
}

export default (appInfo: EggAppInfo): PowerPartial<EggAppConfig> & BizConfig => {
  const config = {} as PowerPartial<EggAppConfig>;

  // Egg's cookie keys; this API uses bearer tokens, not cookies, so this is not a secret we rely on.
  config.keys = env('EGG_KEYS') ?? `${appInfo.name}_keys`;

  config.cluster = { listen: { port: envInt('PORT', 7001), hostname: '' } };

  // Egg's default is <root>/logs/<name> (prod: ~/logs/<name>).
  const logDir = env('LOG_DIR');
  if (logDir) config.logger = { dir: logDir };

  // The JSON API authenticates with bearer JWTs, not cookies, so CSRF tokens do not apply.
  // egg-security keeps its refusals (TRACE/TRACK 405, a path climbing out with ../ 400);
  // its response headers are set once by the requestId middleware instead of by four
  // middlewares of their own, each awaiting the rest of the request (and so missing from
  // error answers).
  config.security = { csrf: { enable: false }, defaultMiddleware: 'methodnoallow,dta' };

  // One line per request (app/middleware/request_id.ts), in access.log next to egg's other
  // logs (LOG_DIR), rotated with them by egg-logrotator.
  config.customLogger = {
    accessLogger: { file: 'access.log', consoleLevel: 'NONE', formatter: (meta?: { message?: string }) => meta?.message ?? '' },
  };

  // egg's meta middleware only adds an x-readtime header, which tells clients our timings.
  config.meta = { enable: false, logging: false };

  // JSON for the API; text (XML) only reaches the message push endpoint, the JSON routes
  // answer anything but JSON with 415.
  config.bodyParser = {
    // text (XML) reaches the message push only, whose messages fit in 16 KiB (push.ts checks JSON pushes alike)
    jsonLimit: '64kb', formLimit: '64kb', textLimit: '16kb',
    enableTypes: [ 'json', 'text' ],
    extendTypes: { text: [ 'text/xml', 'application/xml' ] },
    // A GET or HEAD has no body to parse (no route reads one): the parser is not run for them.
    ignore: (ctx: Context) => ctx.method === 'GET' || ctx.method === 'HEAD',
  };

  // Credentials in MONGODB_URI are split off into the driver's `auth` option (mongo_uri.ts).
  const mongoUri = env('MONGODB_URI');
  config.mongoose = {
    clients: {
      // Fail a request within seconds while the database is away, instead of hanging.
      mp: mongoUri ? mongoClientConfig(mongoUri, 5000) : { url: '', options: { serverSelectionTimeoutMS: 5000 } },
    },
  };

  const session: SessionConfig = {
    tokenTtlSeconds: parseTokenTtl(env('JWT_EXPIRES_IN') ?? '7d'),
    maxAgeSeconds: parseTokenTtl(env('SESSION_MAX_AGE') ?? '30d', 'SESSION_MAX_AGE'),
    cacheMs: 2000,
    previousSecrets: previousJwtSecrets(),
  };
  config.jwt = {
    secret: env('JWT_SECRET') ?? '',
    enable: false,
    sign: { algorithm: 'HS256', expiresIn: session.tokenTtlSeconds },
    verify: { algorithms: [ 'HS256' ] },
  };

  const appsFile = env('WXMP_APPS_FILE');
  const fromFile = appsFile === undefined ? undefined : readAppsFile(appsFile);
  // prod refuses these lines before this runs (env.ts); elsewhere a bad file stops the start here.
  if (fromFile?.problems.length) throw new Error(fromFile.problems.join('\n'));
  const first = fromFile?.apps[0];
  const wxmp: WxmpConfig = {
    appid: first?.appid ?? env('WXMP_APPID') ?? '',
    secret: first?.secret ?? env('WXMP_SECRET') ?? '',
    apiBase: (env('WXMP_API_BASE') ?? 'https://api.weixin.qq.com').replace(/\/+$/, ''),
    tokenMode: first?.tokenMode ?? (env('WXMP_TOKEN_MODE') === 'stable' ? 'stable' : 'classic'),
    requestTimeoutMs: 5000,
    tokenCheckInterval: '10s',
    tokenRefreshMarginSeconds: 300,
    tokenLeaseMs: 15_000,
    tokenWaitMs: 10_000,
    tokenFailureCooldownMs: 5000,
    tokenFetchAttempts: 3,
    tokenRetryBaseMs: 500,
    forcedRefreshMinAgeSeconds: 60,
    forcedRefreshIntervalSeconds: 60,
    decryptMaxAgeSeconds: envInt('WXMP_DECRYPT_MAX_AGE', 0),
    push: { token: first?.push.token ?? env('WXMP_PUSH_TOKEN') ?? '', aesKey: first?.push.aesKey ?? env('WXMP_PUSH_AES_KEY') ?? '', maxSkewSeconds: 300 },
    apps: fromFile?.apps ?? [],
  };

  const health: HealthConfig = { timeoutMs: 1000 };
  const rateLimit: RateLimitConfig = {
    loginPerMinute: envInt('RATE_LIMIT_LOGIN_PER_MINUTE', 60),
    userPerMinute: envInt('RATE_LIMIT_USER_PER_MINUTE', 30),
  };
  // Slow clients: a dribbling client is cut off within 11 s (headers) or 31 s (body).
  // keepAliveTimeout above what a proxy keeps an idle upstream connection (nginx: 60 s), so the
  // app never closes a connection the proxy is about to reuse (the classic sporadic 502s).
  // headersTimeout stays short: in Node 20 it times a request's headers from their first byte,
  // not the idle time before them, so it guards against slow headers without racing keep-alive.
  const httpServer: HttpServerConfig = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: envInt('KEEP_ALIVE_TIMEOUT', 65) * 1000, checkIntervalMs: 1000 };
  // Behind N reverse proxies / load balancers, TRUST_PROXY=N takes the client address from
  // X-Forwarded-For: the entry the outermost of our proxies appended (the last N are ours;
  // anything left of them the client wrote itself). Never by default, or any client could
  // pick its address, and so its rate limit.
  const proxyHops = envInt('TRUST_PROXY', 0);
  config.proxy = proxyHops > 0;
  config.maxIpsCount = proxyHops;
  const overload: OverloadConfig = {
    maxInFlight: envInt('OVERLOAD_MAX_IN_FLIGHT', 64),
    maxBodyPending: 256,
    bodyTimeoutMs: 10_000,
    uploadBodyTimeoutMs: 30_000,
    maxConnectionsPerAddress: proxyHops > 0 ? 0 : envInt('MAX_CONNECTIONS_PER_ADDRESS', 256),
  };
  const sandbox: SandboxConfig | null = null;

  const avatar: AvatarConfig = {
    publicBaseUrl: (env('PUBLIC_BASE_URL') ?? '').replace(/\/+$/, ''),
    maxBytes: envInt('AVATAR_MAX_BYTES', 2 * 1024 * 1024),
    maxInputPixels: 25_000_000,
    maxInputSide: 4096,
    maxAspectRatio: 4,
    decodeTimeoutSeconds: 5,
    maxSide: 640,
    concurrentDecodes: 1,
    decodeQueue: 4,
    uploadLockMs: 60_000,
  };
  // Uploads are read as streams by the avatar route only; their names are never trusted
  // (the image is told by its bytes), so every name passes egg's extension whitelist.
  // fileSize a little above maxBytes: the avatar service's own count answers first, in its words.
  config.multipart = { mode: 'stream', fileSize: avatar.maxBytes + 1024, files: 1, fields: 10, whitelist: () => true };

  // The dumped config (run/*_config.json) carries no secret: egg's default dump.ignore hides
  // `keys` (internal.keys) and /secret/i (jwt.secret, wxmp.secret, session.previousSecrets);
  // app.ts and agent.ts add the names it misses (config/dump.ts).
  const internal: InternalConfig = { keys: parseInternalKeys(env('INTERNAL_API_KEYS')).keys, auditRetentionDays: envInt('AUDIT_RETENTION_DAYS', 180) };

  return { ...config, wxmp, health, session, rateLimit, overload, httpServer, avatar, internal, sandbox };
};
