/**
 * Every `code` the API answers with, the stable part of an error (docs/errors.md describes
 * each; a test keeps the two lists equal). Codes answered outside the app's middleware
 * (load shedding, malformed HTTP) are here too.
 */
export const ERROR_CODES = [
  'INVALID_PARAM', 'INVALID_BODY', 'DECRYPT_FAILED', 'DATA_INCOMPLETE', 'MALFORMED_REQUEST', 'OPENID_MISMATCH',
  'INVALID_CODE', 'INVALID_IMAGE', 'INVALID_PUSH', 'WECHAT_INVALID_OPENID', 'APP_REQUIRED', 'UNKNOWN_APP',
  'UNAUTHORIZED', 'TOKEN_EXPIRED', 'USER_NOT_FOUND', 'SESSION_ENDED', 'SESSION_EXPIRED', 'INVALID_SIGNATURE',
  'WECHAT_RISK_BLOCKED', 'FORBIDDEN_SCOPE', 'USER_BANNED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'REQUEST_TIMEOUT',
  'PHONE_TAKEN', 'UPLOAD_IN_PROGRESS', 'NO_SUBSCRIPTION', 'INVALID_TEMPLATE', 'WECHAT_INVALID_PARAM', 'WECHAT_USER_INACTIVE', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'CONTENT_RISKY',
  'RATE_LIMITED', 'WECHAT_RATE_LIMITED', 'HEADERS_TOO_LARGE',
  'INTERNAL_ERROR', 'WECHAT_UNAVAILABLE', 'WECHAT_ERROR', 'WECHAT_BAD_REQUEST',
  'DB_UNAVAILABLE', 'WECHAT_TOKEN_UNAVAILABLE', 'NOT_CONFIGURED', 'OVERLOADED', 'BUSY', 'WECHAT_TIMEOUT',
] as const;
export type ErrorCode = typeof ERROR_CODES[number];

/**
 * Each code's HTTP status and a one-line summary: the OpenAPI document lists, per
 * operation, only the codes that operation answers, with these words (docs/errors.md has
 * the full table; a test keeps the statuses equal).
 */
export const ERROR_INFO: Record<ErrorCode, { status: number; summary: string }> = {
  INVALID_PARAM: { status: 400, summary: 'a field is missing or malformed' },
  INVALID_BODY: { status: 400, summary: 'the body is not a JSON object' },
  DECRYPT_FAILED: { status: 400, summary: 'encryptedData cannot be decrypted with this session; call wx.login again' },
  DATA_INCOMPLETE: { status: 400, summary: 'the data decrypted but lacks its field' },
  MALFORMED_REQUEST: { status: 400, summary: 'not valid HTTP/1.1' },
  OPENID_MISMATCH: { status: 400, summary: 'the code or the data belongs to another user' },
  INVALID_CODE: { status: 400, summary: 'WeChat says the code is invalid or used (40029, 40163)' },
  INVALID_IMAGE: { status: 400, summary: 'not a JPEG/PNG/WebP, damaged, too many pixels or too long a shape' },
  INVALID_PUSH: { status: 400, summary: 'a push WeChat would not send: stale timestamp, undecryptable, another app, unparseable' },
  WECHAT_INVALID_OPENID: { status: 400, summary: 'WeChat does not know the user (40003)' },
  APP_REQUIRED: { status: 400, summary: 'several mini-programs are served: name the appid' },
  UNKNOWN_APP: { status: 400, summary: 'the appid is not a mini-program served here' },
  UNAUTHORIZED: { status: 401, summary: 'missing, malformed or invalid credentials' },
  TOKEN_EXPIRED: { status: 401, summary: 'the token expired' },
  USER_NOT_FOUND: { status: 401, summary: 'the token\'s user was deleted' },
  SESSION_ENDED: { status: 401, summary: 'the token\'s session was ended (logout, from another device, or by WeChat or support)' },
  SESSION_EXPIRED: { status: 401, summary: 'the session is older than SESSION_MAX_AGE; log in again' },
  INVALID_SIGNATURE: { status: 401, summary: 'a push with a bad signature or msg_signature' },
  WECHAT_RISK_BLOCKED: { status: 403, summary: 'WeChat blocked a high-risk user (40226)' },
  FORBIDDEN_SCOPE: { status: 403, summary: 'the internal key lacks the scope this route needs (named in the message)' },
  USER_BANNED: { status: 403, summary: 'the user is banned' },
  NOT_FOUND: { status: 404, summary: 'no such resource, or the feature is not configured' },
  METHOD_NOT_ALLOWED: { status: 405, summary: 'the path exists, not with this method' },
  REQUEST_TIMEOUT: { status: 408, summary: 'headers or body did not arrive in time' },
  PHONE_TAKEN: { status: 409, summary: 'the number is bound to another account; nothing changed' },
  NO_SUBSCRIPTION: { status: 409, summary: 'the user has no accepted send of this template left (or refused it: 43101); nothing sent' },
  INVALID_TEMPLATE: { status: 400, summary: 'WeChat does not know the template_id for this app (40037)' },
  WECHAT_INVALID_PARAM: { status: 400, summary: 'WeChat refused the arguments (the message names the errcode: a page, scene, query or expiry it does not accept)' },
  UPLOAD_IN_PROGRESS: { status: 409, summary: 'another avatar upload of this user is being processed' },
  WECHAT_USER_INACTIVE: { status: 409, summary: 'the user has not opened the mini-program in the last 2 hours (61010)' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'the body or the image is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'the body is not of the type this route takes' },
  CONTENT_RISKY: { status: 422, summary: 'WeChat\'s content check refused the text; nothing stored' },
  RATE_LIMITED: { status: 429, summary: 'over this address\'s or user\'s limit; see Retry-After' },
  WECHAT_RATE_LIMITED: { status: 429, summary: 'WeChat\'s rate limit (45011, 45009); see Retry-After' },
  HEADERS_TOO_LARGE: { status: 431, summary: 'headers over 16 KiB' },
  INTERNAL_ERROR: { status: 500, summary: 'a bug; details only in the server log' },
  WECHAT_UNAVAILABLE: { status: 502, summary: 'WeChat unreachable or answering unusably' },
  WECHAT_ERROR: { status: 502, summary: 'another WeChat errcode' },
  WECHAT_BAD_REQUEST: { status: 502, summary: 'WeChat refused a content check as malformed (a bug here)' },
  DB_UNAVAILABLE: { status: 503, summary: 'MongoDB does not answer' },
  WECHAT_TOKEN_UNAVAILABLE: { status: 503, summary: 'the access_token is being refreshed elsewhere and took too long' },
  NOT_CONFIGURED: { status: 503, summary: 'the server lacks the configuration this needs' },
  OVERLOADED: { status: 503, summary: 'this worker is at its limit; see Retry-After' },
  BUSY: { status: 503, summary: 'this worker is decoding as many images as it queues; see Retry-After' },
  WECHAT_TIMEOUT: { status: 504, summary: 'WeChat did not answer in time' },
};

/**
 * Typed errors thrown anywhere in the app; the outermost error_handler middleware turns
 * each into `{ code, message }` with its HTTP status. `code` values are stable API.
 */
export class ApiError extends Error {
  /** Sent as `Retry-After` (seconds) with the error: when a retry may succeed. */
  declare retryAfterSeconds?: number;

  constructor(readonly status: number, readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 429: this client (address or user) sent too many requests; retry after the given seconds. */
export class RateLimitedError extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(429, 'RATE_LIMITED', `Too many requests; retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 409: the resource is held by someone else (a phone number bound to another user). */
export class ConflictError extends ApiError {
  constructor(message: string, code: ErrorCode) {
    super(409, code, message);
  }
}

/** 415: a JSON route was sent a body that is not JSON. */
export class JsonRequiredError extends ApiError {
  constructor() {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON (Content-Type: application/json)');
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string, code: ErrorCode = 'INVALID_PARAM') {
    super(400, code, message);
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'Missing, invalid or expired token; log in again', code: ErrorCode = 'UNAUTHORIZED') {
    super(401, code, message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message = 'Not Found', code: ErrorCode = 'NOT_FOUND') {
    super(404, code, message);
  }
}

export class ServiceUnavailableError extends ApiError {
  constructor(message = 'Database unavailable, retry shortly', code: ErrorCode = 'DB_UNAVAILABLE') {
    super(503, code, message);
  }
}

/** How a WeChat call failed: WeChat answered an errcode, or we never got a usable answer. */
export type WeChatFailure = 'errcode' | 'timeout' | 'network' | 'bad_response';

/** access_token rejected: refresh once and retry. */
export const TOKEN_INVALID_ERRCODES: ReadonlySet<number> = new Set([ 40001, 40014, 42001 ]);
/** Wrong AppID/AppSecret or IP whitelist: retrying cannot help; an operator must act. */
export const CONFIG_ERRCODES: ReadonlySet<number> = new Set([ 40013, 40125, 40164 ]);

/** WeChat refusing a gateway call's arguments: a page (40159, 41030, 40165), scene (40169), query (40212), expiry (85401), data (47003). */
const GATEWAY_PARAM_ERRCODES: ReadonlySet<number> = new Set([ 40159, 40165, 40169, 40212, 41030, 47003, 85401 ]);

function wechatStatus(failure: WeChatFailure, errcode: number): { status: number; code: ErrorCode } {
  if (failure === 'timeout') return { status: 504, code: 'WECHAT_TIMEOUT' };
  if (failure !== 'errcode') return { status: 502, code: 'WECHAT_UNAVAILABLE' };
  if (errcode === 40029 || errcode === 40163) return { status: 400, code: 'INVALID_CODE' };
  if (errcode === 40226) return { status: 403, code: 'WECHAT_RISK_BLOCKED' };
  if (errcode === 45011 || errcode === 45009) return { status: 429, code: 'WECHAT_RATE_LIMITED' };
  // content security (msg_sec_check, media_check_async)
  if (errcode === 40003) return { status: 400, code: 'WECHAT_INVALID_OPENID' };
  if (errcode === 61010) return { status: 409, code: 'WECHAT_USER_INACTIVE' };
  if (errcode === 40129 || errcode === 44002 || errcode === 47001) return { status: 502, code: 'WECHAT_BAD_REQUEST' };
  // the gateway: subscribe messages, mini-program codes, URL links
  if (errcode === 43101) return { status: 409, code: 'NO_SUBSCRIPTION' };
  if (errcode === 40037) return { status: 400, code: 'INVALID_TEMPLATE' };
  if (GATEWAY_PARAM_ERRCODES.has(errcode)) return { status: 400, code: 'WECHAT_INVALID_PARAM' };
  return { status: 502, code: 'WECHAT_ERROR' };
}

/** What the client is told for an errcode: our words, never WeChat's errmsg (it stays in the log). */
function clientMessage(endpoint: string, failure: WeChatFailure, errcode: number): string {
  if (failure === 'timeout') return 'WeChat did not answer in time; retry later';
  if (failure !== 'errcode') return 'WeChat is unreachable or answered unusably; retry later';
  if (errcode === 40029 || errcode === 40163) return `The code is invalid or already used (WeChat errcode ${errcode}); get a new one and retry`;
  if (errcode === 40226) return 'WeChat blocked this user as high-risk (errcode 40226)';
  if (errcode === 45011 || errcode === 45009) return `WeChat rate-limited this call (errcode ${errcode}); retry later`;
  if (errcode === 40003) return 'WeChat does not know this user (errcode 40003)';
  if (errcode === 43101) return 'The user has not accepted this template (WeChat errcode 43101); ask again with wx.requestSubscribeMessage';
  if (errcode === 40037) return 'WeChat does not know this template_id for this mini-program (errcode 40037)';
  if (GATEWAY_PARAM_ERRCODES.has(errcode)) return `WeChat refused the arguments of ${endpoint} (errcode ${errcode})`;
  if (errcode === 61010) return 'WeChat checks content only for users active in the mini-program in the last 2 hours (errcode 61010); open it and retry';
  return `WeChat refused ${endpoint} (errcode ${errcode}); retry later`;
}

/**
 * A failed call to the WeChat API. Its message (what the client sees) names the endpoint
 * path and errcode only: never WeChat's errmsg, which carries internals ("invalid
 * appsecret", request ids), nor the query string, which carries the appsecret. `errmsg` is
 * kept for the log.
 */
export class WeChatError extends ApiError {
  constructor(
    readonly endpoint: string,
    readonly failure: WeChatFailure,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    const { status, code } = wechatStatus(failure, errcode);
    super(status, code, clientMessage(endpoint, failure, errcode));
    this.name = 'WeChatError';
    if (status === 429) this.retryAfterSeconds = 60; // WeChat's limits are per minute
  }

  /** Worth another attempt: WeChat was busy (-1) or we got no usable answer. */
  get retryable(): boolean {
    return this.failure !== 'errcode' || this.errcode === -1;
  }

  get isConfigError(): boolean {
    return this.failure === 'errcode' && CONFIG_ERRCODES.has(this.errcode);
  }

  get isTokenInvalid(): boolean {
    return this.failure === 'errcode' && TOKEN_INVALID_ERRCODES.has(this.errcode);
  }
}
