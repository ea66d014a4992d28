/**
 * The API's one description: OpenAPI 3.1 for every route, error and schema. Served at
 * /openapi.json and shown at /docs (Swagger UI); request bodies are validated against the
 * schemas here (app/lib/request_validation.ts), and the test suite validates real responses
 * against them, so documentation and behaviour cannot drift apart.
 *
 * `x-rule` on a schema is the human wording of its constraint, used in validation errors.
 */

import type { IWxUserInfo } from '../model/account/user';
import { ERROR_CODES, ERROR_INFO, type ErrorCode } from './errors';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string): Schema => ({ type: [ type, 'null' ] });

const JSCODE: Schema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$', 'x-rule': '1-128 letters, digits, _ or -', description: 'The code from `wx.login()`', examples: [ '0a3Xyz1w3bCdEf0Gh2ij3k4LmN5oPq6r' ] };
const ENCRYPTED_DATA: Schema = {
  type: 'string',
  pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
  minLength: 4,
  maxLength: 32768,
  'x-rule': 'base64 of at most 32768 characters',
  description: 'Encrypted data from the WeChat API (send with `iv`)',
  examples: [ 'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS' ],
};
/**
 * Text other users see (a nickname, a city): no character of the Unicode categories that show
 * nothing or change how the rest reads: controls (Cc), format characters (Cf: direction
 * overrides and isolates, zero-width spaces, soft hyphens, word joiners, tag characters, the
 * BOM), line and paragraph separators (Zl, Zp), private-use (Co) and unassigned (Cn) code
 * points; nor the invisible marks and fillers of other categories (U+034F, U+17B4/5, the
 * Hangul fillers U+115F, U+1160, U+3164, U+FFA0). These are the usual ways to make a name
 * invisible or look like another ("Alice" and "Alice\u00AD"). The joiners U+200C/D (emoji
 * sequences, Persian and Indic scripts) and variation selectors (Mn) stay allowed.
 */
const DISPLAY_TEXT = '^(?:[\\u200C\\u200D]|[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Co}\\p{Cn}\\u034F\\u115F\\u1160\\u17B4\\u17B5\\u3164\\uFFA0])*$';
const DISPLAY_RULE = 'without control, format (direction overrides, zero-width, soft hyphen, tags), separator, private-use, unassigned or filler characters';

const IV: Schema = { type: 'string', pattern: '^[A-Za-z0-9+/]{22}==$', 'x-rule': 'base64 of 16 bytes (24 characters)', examples: [ 'r7BXXKkLb8qrSNn05n0qiA==' ] };

/** `encryptedData` and `iv` come together or not at all. */
const PAIRED = { encryptedData: [ 'iv' ], iv: [ 'encryptedData' ] };

const EXAMPLE_TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiI2NTYxZjBhMWIyYzNkNGU1ZjZhN2I4YzkiLCJpc1dYQXV0aCI6dHJ1ZX0.signature';
const EXAMPLE_PROFILE = {
  uid: '6561f0a1b2c3d4e5f6a7b8c9', telphone: '13800138000', _merchant: null, nickName: '微信用户',
  avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/a.png', gender: 1, city: 'Shenzhen', province: 'Guangdong', country: 'China',
};

/** Codes that several routes share: who answers them is the route's middleware or the call it makes. */
const SERVER: ErrorCode[] = [ 'INTERNAL_ERROR', 'DB_UNAVAILABLE', 'OVERLOADED' ];
const AUTH: ErrorCode[] = [ 'UNAUTHORIZED', 'TOKEN_EXPIRED', 'USER_NOT_FOUND', 'SESSION_ENDED', 'SESSION_EXPIRED', 'USER_BANNED' ];
const JSON_BODY: ErrorCode[] = [ 'INVALID_BODY', 'INVALID_PARAM', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE' ];
const WECHAT: ErrorCode[] = [ 'WECHAT_UNAVAILABLE', 'WECHAT_ERROR', 'WECHAT_TIMEOUT', 'WECHAT_RATE_LIMITED' ];
/** A WeChat call that carries the access_token. */
const WECHAT_WITH_TOKEN: ErrorCode[] = [ ...WECHAT, 'WECHAT_TOKEN_UNAVAILABLE' ];
const CODE_EXCHANGE: ErrorCode[] = [ 'INVALID_CODE', 'WECHAT_RISK_BLOCKED', ...WECHAT ];
const CONTENT_CHECK: ErrorCode[] = [ 'WECHAT_INVALID_OPENID', 'WECHAT_USER_INACTIVE', 'WECHAT_BAD_REQUEST', ...WECHAT_WITH_TOKEN ];
const INTERNAL_KEY: ErrorCode[] = [ 'UNAUTHORIZED', 'NOT_FOUND' ];
const PUSH: ErrorCode[] = [ 'NOT_FOUND', 'INVALID_SIGNATURE', 'INVALID_PUSH' ];

/**
 * The error codes each operation can answer, and no others. A test run records every error
 * any test received and fails if one is missing here (test/.setup.ts); the document's
 * error responses are generated from these lists. Any request may also meet the codes of
 * the HTTP layer (`ANY_REQUEST`), which /docs states once.
 */
export const OPERATION_ERRORS: Record<OperationId, readonly ErrorCode[]> = {
  wxmp: [ ...JSON_BODY, 'APP_REQUIRED', 'UNKNOWN_APP', 'USER_BANNED', 'RATE_LIMITED', ...CODE_EXCHANGE, 'DECRYPT_FAILED', 'OPENID_MISMATCH', ...SERVER ],
  session: [ ...AUTH, ...SERVER ],
  wxmpLogout: [ ...AUTH, ...SERVER ],
  getSessions: [ ...AUTH, ...SERVER ],
  deleteSession: [ ...AUTH, 'NOT_FOUND', ...SERVER ],
  exportUser: [ ...AUTH, 'RATE_LIMITED', ...SERVER ],
  getUserInfo: [ ...AUTH, ...SERVER ],
  refreshToken: [ ...AUTH, ...SERVER ],
  wxmpBindPhone: [ ...AUTH, ...JSON_BODY, 'RATE_LIMITED', ...CODE_EXCHANGE, 'WECHAT_TOKEN_UNAVAILABLE', 'DECRYPT_FAILED', 'DATA_INCOMPLETE', 'OPENID_MISMATCH', 'PHONE_TAKEN', ...SERVER ],
  wxmpProfile: [ ...AUTH, ...JSON_BODY, 'RATE_LIMITED', 'CONTENT_RISKY', ...CONTENT_CHECK, ...SERVER ],
  wxmpAvatar: [ ...AUTH, 'INVALID_PARAM', 'INVALID_IMAGE', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED', 'UPLOAD_IN_PROGRESS', 'NOT_CONFIGURED', 'BUSY', ...CONTENT_CHECK, ...SERVER ],
  getAvatar: [ 'NOT_FOUND', ...SERVER ],
  wxmpRun: [ ...AUTH, ...JSON_BODY, 'RATE_LIMITED', ...CODE_EXCHANGE, 'DECRYPT_FAILED', 'DATA_INCOMPLETE', 'OPENID_MISMATCH', ...SERVER ],
  deleteUser: [ ...AUTH, ...SERVER ],
  wxmpPushVerify: [ ...PUSH, 'INTERNAL_ERROR', 'OVERLOADED' ],
  wxmpPush: [ ...PUSH, 'PAYLOAD_TOO_LARGE', ...SERVER ],
  wxmpPushVerifyApp: [ ...PUSH, 'INTERNAL_ERROR', 'OVERLOADED' ],
  wxmpPushApp: [ ...PUSH, 'PAYLOAD_TOO_LARGE', ...SERVER ],
  health: [ 'INTERNAL_ERROR' ],
  internalAccessToken: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', 'INVALID_PARAM', 'APP_REQUIRED', 'UNKNOWN_APP', ...WECHAT_WITH_TOKEN, ...SERVER ],
  internalAccessTokenRefresh: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, 'APP_REQUIRED', 'UNKNOWN_APP', ...WECHAT_WITH_TOKEN, ...SERVER ],
  metrics: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', 'INTERNAL_ERROR', 'OVERLOADED' ],
  wxmpSubscriptions: [ ...AUTH, ...JSON_BODY, 'RATE_LIMITED', ...SERVER ],
  internalSubscribeSend: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, 'APP_REQUIRED', 'UNKNOWN_APP', 'NO_SUBSCRIPTION', 'INVALID_TEMPLATE', 'WECHAT_INVALID_PARAM', 'WECHAT_INVALID_OPENID', 'BUSY', ...WECHAT_WITH_TOKEN, ...SERVER ],
  internalWxacode: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, 'APP_REQUIRED', 'UNKNOWN_APP', 'WECHAT_INVALID_PARAM', ...WECHAT_WITH_TOKEN, ...SERVER ],
  getWxacodeScene: [ 'NOT_FOUND', ...SERVER ],
  internalUrllink: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, 'APP_REQUIRED', 'UNKNOWN_APP', 'WECHAT_INVALID_PARAM', ...WECHAT_WITH_TOKEN, ...SERVER ],
  internalCgiToken: [ 'INTERNAL_ERROR', 'OVERLOADED', 'DB_UNAVAILABLE', ...WECHAT_WITH_TOKEN ],
  internalCgiStableToken: [ 'INVALID_BODY', 'PAYLOAD_TOO_LARGE', 'INTERNAL_ERROR', 'OVERLOADED', 'DB_UNAVAILABLE', ...WECHAT_WITH_TOKEN ],
  internalFindUsers: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', 'INVALID_PARAM', ...SERVER ],
  internalGetUser: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', 'INVALID_PARAM', ...SERVER ],
  internalUserEvents: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', 'INVALID_PARAM', ...SERVER ],
  internalBanUser: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, ...SERVER ],
  internalUnbanUser: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, ...SERVER ],
  internalEndSessions: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', ...JSON_BODY, ...SERVER ],
  internalDeleteUser: [ ...INTERNAL_KEY, 'FORBIDDEN_SCOPE', 'INVALID_PARAM', ...SERVER ],
};

/** Answered by the HTTP layer before any route runs, so any request may get them. */
export const ANY_REQUEST: readonly ErrorCode[] = [ 'MALFORMED_REQUEST', 'METHOD_NOT_ALLOWED', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE' ];

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } };
const RETRY_AFTER_CODES = new Set<ErrorCode>([ 'RATE_LIMITED', 'WECHAT_RATE_LIMITED', 'OVERLOADED', 'BUSY' ]);

/** The error responses of one operation: per status, the codes it answers with and what each means. */
function errorResponses(operationId: OperationId): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(OPERATION_ERRORS[operationId])) {
    const { status } = ERROR_INFO[code];
    byStatus.set(status, [ ...(byStatus.get(status) ?? []), code ]);
  }
  return Object.fromEntries([ ...byStatus ].sort(([ a ], [ b ]) => a - b).map(([ status, codes ]) => [ String(status), {
    description: codes.map(c => `\`${c}\`: ${ERROR_INFO[c].summary}`).join('; '),
    ...(codes.some(c => RETRY_AFTER_CODES.has(c)) ? { headers: RETRY_AFTER } : {}),
    content: { 'application/json': {
      schema: { allOf: [ ref('Error') ], properties: { code: { enum: codes } } },
      example: { code: codes[0], message: ERROR_INFO[codes[0]].summary.replace(/^./, c => c.toUpperCase()) },
    } },
  }]));
}

function ok(description: string, schema: string, example: unknown): Schema {
  return { description, content: { 'application/json': { schema: ref(schema), example } } };
}

function jsonBody(schema: string, example: unknown): Schema {
  return { required: true, content: { 'application/json': { schema: ref(schema), example } } };
}

const bearer = [{ bearerAuth: [] }];

/** What WeChat signs every push with. */
const PUSH_QUERY: Record<string, unknown>[] = [
  { name: 'signature', in: 'query', required: false, schema: { type: 'string' }, description: 'sha1(sort([Token, timestamp, nonce]).join(""))' },
  { name: 'timestamp', in: 'query', required: true, schema: { type: 'string' }, example: '1764000000' },
  { name: 'nonce', in: 'query', required: true, schema: { type: 'string' }, example: '1320562132' },
];
const PUBLIC: never[] = [];
/** Which mini-program's token: required when several are served. */
const APPID_QUERY: Record<string, unknown> = { name: 'appid', in: 'query', required: false, schema: { type: 'string' }, description: 'The AppID; required when several mini-programs are served (400 APP_REQUIRED), optional with one', example: 'wx0123456789abcdef' };
/** The mini-program a per-app URL is for. */
const APPID_PATH: Record<string, unknown>[] = [{ name: 'appid', in: 'path', required: true, schema: { type: 'string' }, description: 'The AppID; its Token and EncodingAESKey check the push. 404 for an AppID not served here', example: 'wx0123456789abcdef' }];

const USER_INFO_REQUIRED = [ 'uid', 'telphone', '_merchant' ];
/** `userInfo` as info/refreshToken return it; login's adds the stored `language`. */
const PROFILE_USER_INFO: Record<string, Schema> = {
  uid: { type: 'string' },
  telphone: nullable('string'),
  _merchant: { oneOf: [ ref('Merchant'), { type: 'null' }] },
  nickName: { type: 'string' },
  avatarUrl: { type: 'string' },
  gender: { type: 'integer', description: '0 unknown, 1 male, 2 female' },
  city: { type: 'string' },
  province: { type: 'string' },
  country: { type: 'string' },
};

/**
 * The message push's URL check and push: at `/push` for the first app, and at `/push/{appid}`
 * for each app when several are served (the same operations, named apart).
 */
function pushOperations(perApp: boolean) {
  const query = perApp ? APPID_PATH.concat(PUSH_QUERY) : PUSH_QUERY;
  return {
    get: {
      operationId: perApp ? 'wxmpPushVerifyApp' : 'wxmpPushVerify',
      tags: [ 'wechat' ],
      summary: perApp ? 'Message push URL check of one mini-program (several served)' : 'Message push URL check (the console\'s 提交)',
      description: 'Echoes `echostr` when `signature = sha1(sort([Token, timestamp, nonce]).join(""))`. 404 unless the app\'s push Token is set (`WXMP_PUSH_TOKEN`, or `pushToken` in the apps file).',
      security: PUBLIC,
      parameters: query.concat([{ name: 'echostr', in: 'query', required: true, schema: { type: 'string' } }]),
      responses: {
        200: { description: 'The echostr, verbatim', content: { 'text/plain': { schema: { type: 'string' }, example: '8233428367125447041' } } },
        ...errorResponses(perApp ? 'wxmpPushVerifyApp' : 'wxmpPushVerify'),
      },
    },
    post: {
      operationId: perApp ? 'wxmpPushApp' : 'wxmpPush',
      tags: [ 'wechat' ],
      summary: perApp ? 'Message push of one mini-program (several served)' : 'Message push (消息推送): events and messages from WeChat',
      description: 'JSON or XML as the console\'s data format says. Plaintext mode: `signature` is checked. Safe mode (`WXMP_PUSH_AES_KEY` set): only encrypted pushes (`encrypt_type=aes`), `msg_signature` checked, `Encrypt` decrypted and its appid checked. Timestamps more than 5 minutes off are refused. Each message is stored once (7 days) and handled once; repeats are acknowledged.',
      security: PUBLIC,
      parameters: query.concat([
        { name: 'openid', in: 'query', required: false, schema: { type: 'string' } },
        { name: 'encrypt_type', in: 'query', required: false, schema: { enum: [ 'aes' ] } },
        { name: 'msg_signature', in: 'query', required: false, schema: { type: 'string' }, description: 'Safe mode: sha1(sort([Token, timestamp, nonce, Encrypt]).join(""))' },
      ]),
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { type: 'object' }, example: { ToUserName: 'gh_97417a04a28d', Encrypt: 'hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg==' } },
          'text/xml': { schema: { type: 'string' }, example: '<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[hyzAe4Oz...]]></Encrypt></xml>' },
        },
      },
      responses: {
        200: { description: 'Stored (or already stored): WeChat stops retrying', content: { 'text/plain': { schema: { const: 'success' }, example: 'success' } } },
        ...errorResponses(perApp ? 'wxmpPushApp' : 'wxmpPush'),
      },
    },
  };
}

export const openapiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'wxmp-egg-backend',
    version: '0.1.0',
    description: 'WeChat mini-program backend: login with wx.login codes, user data decryption, phone binding, session tokens.\n\nErrors are always `{ code, message }`; `code` values are stable. Each operation lists the codes it answers; any request may also get ' + ANY_REQUEST.map(c => `\`${c}\` (${ERROR_INFO[c].status})`).join(', ') + ' from the HTTP layer.',
    license: { name: 'UNLICENSED (private)', identifier: 'UNLICENSED' },
  },
  servers: [{ url: '/' }],
  tags: [
    { name: 'account', description: 'The mini-program account API (微信用户体系)' },
    { name: 'wechat', description: 'Called by WeChat: the message push URL (消息推送)' },
    { name: 'ops', description: 'Health and documentation' },
    { name: 'internal', description: 'For the team\'s other backends and ops (INTERNAL_API_KEYS); 404 when no key is configured' },
    { name: 'gateway', description: 'The team\'s WeChat gateway: subscribe messages, mini-program codes, URL links (scope messages), and the access_token in WeChat\'s shape for SDKs' },
    { name: 'support', description: 'For support staff and operators: user lookup, ban, forced logout, deletion, the audit trail (INTERNAL_API_KEYS with the users:read / users:write scopes)' },
  ],
  security: bearer,
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (HS256)', description: 'The `token` from login or refreshToken' },
      internalKey: { type: 'http', scheme: 'bearer', description: 'One of INTERNAL_API_KEYS (the internal API and /metrics); each operation names the scope its key needs (token, metrics, users:read, users:write, messages); a key without scopes has token and metrics' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: [ 'code', 'message' ],
        additionalProperties: false,
        properties: {
          code: { type: 'string', enum: [ ...ERROR_CODES ], description: 'Stable machine-readable code (docs/errors.md)', examples: [ 'INVALID_PARAM' ] },
          message: { type: 'string', description: 'For people; may change' },
        },
      },
      Merchant: {
        type: 'object',
        required: [ '_id' ],
        properties: { _id: { type: 'string' }, role: { type: 'string' } },
      },
      LoginRequest: {
        type: 'object',
        required: [ 'jscode' ],
        properties: {
          jscode: JSCODE,
          appid: { type: 'string', pattern: '^wx[A-Za-z0-9]{16,32}$', 'x-rule': 'an AppID (wx followed by 16 or more letters or digits)', description: 'The mini-program logging in (`wx.getAccountInfoSync().miniProgram.appId`). Optional: WeChat\'s Referer names it too, and a deployment of one app needs neither', examples: [ 'wx0123456789abcdef' ] },
          encryptedData: { ...ENCRYPTED_DATA, description: 'From `wx.getUserProfile()`/`getUserInfo()` to store the profile (send with `iv`)' },
          iv: IV,
        },
        dependentRequired: PAIRED,
      },
      LoginUserInfo: {
        type: 'object',
        required: USER_INFO_REQUIRED,
        properties: { ...PROFILE_USER_INFO, language: { type: 'string' } },
      },
      ProfileUserInfo: {
        type: 'object',
        required: USER_INFO_REQUIRED,
        additionalProperties: false,
        properties: PROFILE_USER_INFO,
      },
      LoginResponse: {
        type: 'object',
        required: [ 'token', 'isWXAuth', 'userInfo', 'apps' ],
        additionalProperties: false,
        properties: { token: { type: 'string' }, isWXAuth: { type: 'boolean' }, userInfo: ref('LoginUserInfo'), apps: { type: 'array', items: { type: 'string' }, description: 'The mini-programs the user has logged in to (one person across apps: unionid)' } },
      },
      ProfileResponse: {
        type: 'object',
        required: [ 'isWXAuth', 'userInfo', 'apps' ],
        additionalProperties: false,
        properties: { isWXAuth: { type: 'boolean' }, userInfo: ref('ProfileUserInfo'), apps: { type: 'array', items: { type: 'string' }, description: 'The mini-programs the user has logged in to (one person across apps: unionid)' } },
      },
      RefreshResponse: {
        type: 'object',
        required: [ 'token', 'isWXAuth', 'userInfo', 'apps' ],
        additionalProperties: false,
        properties: { token: { type: 'string' }, isWXAuth: { type: 'boolean' }, userInfo: ref('ProfileUserInfo'), apps: { type: 'array', items: { type: 'string' }, description: 'The mini-programs the user has logged in to (one person across apps: unionid)' } },
      },
      BindPhoneRequest: {
        type: 'object',
        description: 'Either `code` (WeChat\'s current form), or `jscode` with `encryptedData` and `iv` (the seed\'s form).',
        properties: {
          code: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$', 'x-rule': '1-128 letters, digits, _ or -', description: 'The `code` from a getPhoneNumber button (base library ≥ 2.21.2)' },
          jscode: { ...JSCODE, description: 'A fresh `wx.login()` code (seed form)' },
          encryptedData: { ...ENCRYPTED_DATA, description: 'From the getPhoneNumber button (seed form)' },
          iv: IV,
        },
        dependentRequired: PAIRED,
        anyOf: [{ required: [ 'code' ] }, { required: [ 'jscode', 'encryptedData', 'iv' ] }],
        'x-rule': 'send either code, or jscode with encryptedData and iv',
      },
      ProfileRequest: {
        type: 'object',
        description: 'What `<input type="nickname">` and the app\'s own form collect. The nickname is checked with WeChat\'s msg_sec_check. At least one field; an unknown one (a misspelt `nickname`) is refused rather than ignored.',
        minProperties: 1,
        additionalProperties: false,
        'x-rule': 'an object with at least one of nickName, gender, city, province, country, language',
        properties: {
          nickName: { type: 'string', minLength: 1, maxLength: 32, pattern: DISPLAY_TEXT, 'x-rule': `1-32 characters, at least one visible, ${DISPLAY_RULE}`, examples: [ '小明' ] },
          gender: { enum: [ 0, 1, 2 ], 'x-rule': '0 (unknown), 1 or 2', description: '0 unknown, 1 male, 2 female' },
          city: { type: 'string', maxLength: 64, pattern: DISPLAY_TEXT, 'x-rule': `at most 64 characters ${DISPLAY_RULE}` },
          province: { type: 'string', maxLength: 64, pattern: DISPLAY_TEXT, 'x-rule': `at most 64 characters ${DISPLAY_RULE}` },
          country: { type: 'string', maxLength: 64, pattern: DISPLAY_TEXT, 'x-rule': `at most 64 characters ${DISPLAY_RULE}` },
          language: { type: 'string', maxLength: 16, pattern: '^[A-Za-z_-]*$', 'x-rule': 'a language tag like zh_CN' },
        },
      },
      AvatarResponse: {
        type: 'object',
        required: [ 'avatarUrl' ],
        additionalProperties: false,
        properties: { avatarUrl: { type: 'string', examples: [ 'https://api.example.com/api/v1/mp/account/avatar/6561f0a1b2c3d4e5f6a7b8ca' ] } },
      },
      ReportedToken: {
        type: 'object',
        required: [ 'access_token' ],
        properties: {
          access_token: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,1024}$', 'x-rule': 'the access_token WeChat rejected', examples: [ 'AT_the_one_wechat_rejected' ] },
          appid: { type: 'string', pattern: '^wx[A-Za-z0-9]{16,32}$', 'x-rule': 'an AppID', description: 'The token\'s mini-program (or `?appid=`); required when several are served' },
        },
      },
      AccessToken: {
        type: 'object',
        required: [ 'access_token', 'expires_in', 'expires_at' ],
        additionalProperties: false,
        properties: {
          access_token: { type: 'string' },
          expires_in: { type: 'integer', description: 'Seconds left (never under 60)' },
          expires_at: { type: 'integer', description: 'Epoch seconds' },
        },
      },
      PhoneResponse: {
        type: 'object',
        required: [ 'phone' ],
        additionalProperties: false,
        properties: { phone: { type: 'string', examples: [ '13800138000' ] } },
      },
      RunRequest: {
        type: 'object',
        required: [ 'jscode', 'encryptedData', 'iv' ],
        properties: { jscode: JSCODE, encryptedData: { ...ENCRYPTED_DATA, description: 'From `wx.getWeRunData()`' }, iv: IV },
      },
      RunResponse: {
        type: 'object',
        required: [ 'stepInfoList' ],
        additionalProperties: false,
        properties: {
          stepInfoList: {
            type: 'array',
            items: { type: 'object', required: [ 'timestamp', 'step' ], properties: { timestamp: { type: 'integer' }, step: { type: 'integer' } } },
          },
        },
      },
      SessionClaims: {
        type: 'object',
        required: [ 'uid', 'isWXAuth', 'openId', 'mid', 'role', 'iat', 'exp' ],
        properties: {
          uid: { type: 'string' },
          isWXAuth: { type: 'boolean' },
          openId: { type: 'string', description: 'The user\'s openid in the token\'s app' },
          appid: { type: 'string', description: 'The mini-program the token is for (absent in tokens issued before several apps were served: the first app\'s)' },
          sid: { type: 'string', description: 'The login\'s session (GET /user/sessions); absent in tokens issued before sessions existed' },
          mid: nullable('string'),
          role: nullable('string'),
          iat: { type: 'integer' },
          exp: { type: 'integer' },
        },
      },
      Session: {
        type: 'object',
        required: [ 'sid', 'appid', 'createdAt', 'refreshedAt', 'expiresAt', 'ip', 'userAgent', 'current' ],
        additionalProperties: false,
        properties: {
          sid: { type: 'string' },
          appid: { type: 'string' },
          createdAt: { type: 'string', format: 'date-time', description: 'The login' },
          refreshedAt: { type: 'string', format: 'date-time', description: 'The last refreshToken (or the login)' },
          expiresAt: { type: 'string', format: 'date-time', description: 'The login plus SESSION_MAX_AGE' },
          ip: { type: 'string', description: 'The client address, masked to /24 (IPv4) or /48 (IPv6)', examples: [ '203.0.113.0/24' ] },
          userAgent: { type: 'string' },
          current: { type: 'boolean', description: 'The caller\'s own session' },
        },
      },
      SessionList: {
        type: 'object',
        required: [ 'sessions' ],
        additionalProperties: false,
        properties: { sessions: { type: 'array', items: ref('Session') } },
      },
      UserExport: {
        type: 'object',
        required: [ 'exportedAt', 'user', 'sessions', 'avatars', 'contentChecks', 'pushEvents', 'platformUser' ],
        description: 'Everything stored about the user',
        properties: {
          exportedAt: { type: 'string', format: 'date-time' },
          user: {
            type: 'object',
            required: [ 'uid', 'openId', 'apps' ],
            properties: {
              uid: { type: 'string' },
              openId: { type: 'string' },
              apps: { type: 'array', items: { type: 'object', required: [ 'appid', 'openid' ], properties: { appid: { type: 'string' }, openid: { type: 'string' } } } },
            },
          },
          sessions: { type: 'array', items: { type: 'object' } },
          avatars: { type: 'array', items: { type: 'string' } },
          contentChecks: { type: 'array', items: { type: 'object' } },
          pushEvents: { type: 'array', items: { type: 'object' } },
          platformUser: { oneOf: [{ type: 'null' }, { type: 'object' }] },
        },
      },
      SubscriptionsRequest: {
        type: 'object',
        description: 'What `wx.requestSubscribeMessage` answered, as it answered it: each template id with `accept`, `reject`, `ban` or `filter` (`errMsg` is ignored).',
        minProperties: 1,
        maxProperties: 51,
        'x-rule': 'an object of template ids, each "accept", "reject", "ban" or "filter"',
        propertyNames: { pattern: '^[A-Za-z0-9_-]{1,128}$' },
        properties: { errMsg: { type: 'string', maxLength: 256 } },
        additionalProperties: { enum: [ 'accept', 'reject', 'ban', 'filter' ], 'x-rule': '"accept", "reject", "ban" or "filter"' },
      },
      SubscriptionsResponse: {
        type: 'object',
        required: [ 'subscriptions' ],
        additionalProperties: false,
        properties: {
          subscriptions: {
            type: 'object',
            additionalProperties: { type: 'object', required: [ 'status', 'remaining' ], properties: { status: { enum: [ 'accept', 'reject', 'ban', 'filter' ] }, remaining: { type: 'integer', description: 'Sends allowed now (one per accept)' } } },
          },
        },
      },
      SubscribeSendRequest: {
        type: 'object',
        required: [ 'uid', 'template_id', 'data' ],
        additionalProperties: false,
        properties: {
          appid: { type: 'string', pattern: '^wx[A-Za-z0-9]{16,32}$', 'x-rule': 'an AppID', description: 'The mini-program (or `?appid=`); required when several are served' },
          uid: { type: 'string', pattern: '^[0-9a-f]{24}$', 'x-rule': 'a user id (24 hex digits)' },
          template_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$', 'x-rule': 'a template id' },
          page: { type: 'string', maxLength: 256, 'x-rule': 'at most 256 characters' },
          data: {
            type: 'object',
            minProperties: 1,
            maxProperties: 20,
            'x-rule': 'an object of keys (thing1, amount2, ...) each { value }',
            additionalProperties: { type: 'object', required: [ 'value' ], additionalProperties: false, properties: { value: { type: 'string', maxLength: 256 } } },
          },
          miniprogram_state: { enum: [ 'developer', 'trial', 'formal' ], 'x-rule': 'developer, trial or formal' },
          lang: { enum: [ 'zh_CN', 'en_US', 'zh_HK', 'zh_TW' ], 'x-rule': 'zh_CN, en_US, zh_HK or zh_TW' },
        },
      },
      SubscribeSendResponse: {
        type: 'object',
        required: [ 'status', 'msgid', 'remaining' ],
        additionalProperties: false,
        properties: { status: { const: 'sent' }, msgid: { type: [ 'integer', 'null' ] }, remaining: { type: 'integer', description: 'Sends of this template the user still allows' } },
      },
      WxacodeRequest: {
        type: 'object',
        additionalProperties: false,
        description: 'Either `scene` (at most 32 visible characters, as WeChat allows) or `payload` (any JSON up to 1 KiB: stored, the scene becomes its id; the page reads it from GET /api/v1/mp/wxacode/scenes/{scene}).',
        properties: {
          appid: { type: 'string', pattern: '^wx[A-Za-z0-9]{16,32}$', 'x-rule': 'an AppID', description: 'The mini-program (or `?appid=`); required when several are served' },
          scene: { type: 'string', pattern: "^[A-Za-z0-9!#$&'()*+,/:;=?@\\-._~]{1,32}$", 'x-rule': "1-32 letters, digits or !#$&'()*+,/:;=?@-._~" },
          payload: { description: 'Any JSON, at most 1 KiB' },
          page: { type: 'string', maxLength: 256, 'x-rule': 'a page path without a leading /' },
          width: { type: 'integer', minimum: 280, maximum: 1280, 'x-rule': 'an integer from 280 to 1280' },
          env_version: { enum: [ 'release', 'trial', 'develop' ], 'x-rule': 'release, trial or develop' },
          check_path: { type: 'boolean' },
          auto_color: { type: 'boolean' },
          line_color: { type: 'object', required: [ 'r', 'g', 'b' ], additionalProperties: false, properties: { r: { type: 'integer', minimum: 0, maximum: 255 }, g: { type: 'integer', minimum: 0, maximum: 255 }, b: { type: 'integer', minimum: 0, maximum: 255 } } },
          is_hyaline: { type: 'boolean' },
        },
      },
      UrllinkRequest: {
        type: 'object',
        additionalProperties: false,
        properties: {
          appid: { type: 'string', pattern: '^wx[A-Za-z0-9]{16,32}$', 'x-rule': 'an AppID', description: 'The mini-program (or `?appid=`); required when several are served' },
          path: { type: 'string', maxLength: 256, 'x-rule': 'a page path without a leading /' },
          query: { type: 'string', maxLength: 1024, 'x-rule': 'at most 1024 characters' },
          expire_interval: { type: 'integer', minimum: 1, maximum: 30, 'x-rule': 'days, 1 to 30' },
          expire_time: { type: 'integer', 'x-rule': 'epoch seconds within the next 30 days' },
          env_version: { enum: [ 'release', 'trial', 'develop' ], 'x-rule': 'release, trial or develop' },
        },
        not: { required: [ 'expire_interval', 'expire_time' ], properties: { expire_interval: true, expire_time: true } },
      },
      UrllinkResponse: { type: 'object', required: [ 'url_link' ], additionalProperties: false, properties: { url_link: { type: 'string' } } },
      ScenePayload: { type: 'object', required: [ 'payload' ], additionalProperties: false, properties: { payload: { description: 'What was stored with the code' } } },
      WeChatToken: {
        description: 'As WeChat answers /cgi-bin/token: the token, or `{ errcode, errmsg }` (HTTP 200 either way)',
        oneOf: [
          { type: 'object', required: [ 'access_token', 'expires_in' ], additionalProperties: false, properties: { access_token: { type: 'string' }, expires_in: { type: 'integer' } } },
          { type: 'object', required: [ 'errcode', 'errmsg' ], additionalProperties: false, properties: { errcode: { type: 'integer' }, errmsg: { type: 'string' } } },
        ],
      },
      SupportAction: {
        type: 'object',
        additionalProperties: false,
        properties: { reason: { type: 'string', maxLength: 500, 'x-rule': 'at most 500 characters', description: 'Why (kept in the audit trail)', examples: [ 'ticket #4711: account stolen' ] } },
      },
      SupportUser: {
        type: 'object',
        required: [ 'uid', 'openId', 'appid', 'apps', 'unionid', 'telphone', 'isWXAuth', 'profile', '_merchant', 'status', 'banned', 'createdAt', 'liveSessions' ],
        additionalProperties: false,
        properties: {
          uid: { type: 'string' },
          openId: { type: 'string', description: 'The openid in the app the user first came from' },
          appid: { type: 'string', description: 'The app the user first came from' },
          apps: { type: 'array', items: { type: 'object', required: [ 'appid', 'openid' ], properties: { appid: { type: 'string' }, openid: { type: 'string' } } } },
          unionid: nullable('string'),
          telphone: nullable('string'),
          isWXAuth: { type: 'boolean' },
          profile: { type: 'object' },
          _merchant: { oneOf: [ ref('Merchant'), { type: 'null' }] },
          status: { enum: [ 'active', 'banned' ] },
          banned: { oneOf: [{ type: 'null' }, { type: 'object', required: [ 'at', 'reason', 'by' ], properties: { at: { type: 'string' }, reason: nullable('string'), by: nullable('string') } }] },
          createdAt: nullable('string'),
          liveSessions: { type: 'integer' },
        },
      },
      SupportUserList: { type: 'object', required: [ 'users' ], additionalProperties: false, properties: { users: { type: 'array', items: ref('SupportUser') } } },
      AuditTrail: {
        type: 'object',
        required: [ 'events', 'next' ],
        additionalProperties: false,
        properties: {
          events: {
            type: 'array',
            items: {
              type: 'object',
              required: [ 'id', 'at', 'type', 'actor' ],
              properties: {
                id: { type: 'string' }, at: { type: 'string', format: 'date-time' }, type: { type: 'string' },
                actor: { type: 'string', description: '`user`, `wechat` or `key:<name>`' },
                appid: { type: 'string' }, code: { type: 'string' }, ip: { type: 'string' }, userAgent: { type: 'string' }, reason: { type: 'string' }, detail: { type: 'object' },
              },
            },
          },
          next: { ...nullable('string'), description: 'Pass as `before` for the next page; null at the end' },
        },
      },
      EndedSessions: { type: 'object', required: [ 'ended' ], additionalProperties: false, properties: { ended: { type: 'integer' } } },
      Health: {
        type: 'object',
        required: [ 'status', 'mongo', 'wxToken', 'wxTokenAgeSeconds', 'wxTokenLastFailure', 'wxSecret', 'apps', 'avatars', 'load' ],
        additionalProperties: false,
        properties: {
          status: { enum: [ 'ok', 'degraded' ], description: '`degraded` (HTTP 200) when the token is missing or cannot be refreshed' },
          mongo: { enum: [ 'up', 'down' ] },
          wxToken: { enum: [ 'ok', 'missing', 'refresh_failing' ], description: 'From the database: every worker and host answers alike' },
          wxTokenAgeSeconds: nullable('integer'),
          wxTokenLastFailure: {
            oneOf: [{ type: 'null' }, { type: 'object', required: [ 'errcode', 'at' ], properties: { errcode: { type: 'integer' }, at: { type: 'string' } } }],
            description: 'While refreshes fail: WeChat\'s errcode (40125: wrong AppSecret; -2: no usable answer) and when',
          },
          wxSecret: { enum: [ 'ok', 'rejected', 'unknown' ], description: 'What WeChat last said of the AppSecret on any call carrying it, logins included: `rejected` (40125/40013, the status is then `degraded`) until a call succeeds again' },
          apps: {
            type: 'array',
            description: 'Each mini-program served: its token and AppSecret state (the fields above are the worst of these)',
            items: {
              type: 'object',
              required: [ 'appid', 'name', 'wxToken', 'wxTokenAgeSeconds', 'wxTokenLastFailure', 'wxSecret' ],
              additionalProperties: false,
              properties: {
                appid: { type: 'string' },
                name: { type: 'string' },
                wxToken: { enum: [ 'ok', 'missing', 'refresh_failing' ] },
                wxTokenAgeSeconds: nullable('integer'),
                wxTokenLastFailure: { oneOf: [{ type: 'null' }, { type: 'object', required: [ 'errcode', 'at' ], properties: { errcode: { type: 'integer' }, at: { type: 'string' } } }] },
                wxSecret: { enum: [ 'ok', 'rejected', 'unknown' ] },
              },
            },
          },
          avatars: { enum: [ 'ok', 'not_configured' ], description: '`not_configured`: no PUBLIC_BASE_URL, avatar uploads answer 503' },
          load: {
            type: 'object',
            required: [ 'inFlight', 'bodyPending', 'saturated' ],
            additionalProperties: false,
            description: 'The answering worker\'s load: requests in flight, requests whose body is still arriving, and whether it refuses new ones now (then HTTP 503)',
            properties: { inFlight: { type: 'integer' }, bodyPending: { type: 'integer' }, saturated: { type: 'boolean' } },
          },
        },
      },
    },
  },
  paths: {
    '/api/v1/mp/account/user/auth': {
      post: {
        operationId: 'wxmp',
        tags: [ 'account' ],
        summary: 'Log in with a wx.login code (optionally with encrypted profile data)',
        description: 'Creates (or finds) the user by openId. With `encryptedData` + `iv` also stores the decrypted profile and sets `isWXAuth`.',
        security: PUBLIC,
        requestBody: jsonBody('LoginRequest', { jscode: '0a3Xyz1w3bCdEf0Gh2ij3k4LmN5oPq6r' }),
        responses: {
          200: ok('Logged in', 'LoginResponse', { token: EXAMPLE_TOKEN, isWXAuth: true, userInfo: { ...EXAMPLE_PROFILE, telphone: null, language: 'zh_CN' }, apps: [ 'wx0123456789abcdef' ] }),
          ...errorResponses('wxmp'),
        },
      },
    },
    '/api/v1/mp/account/session': {
      get: {
        operationId: 'session',
        tags: [ 'account' ],
        summary: 'The verified token\'s claims (no database read)',
        responses: {
          200: ok('Claims', 'SessionClaims', { uid: EXAMPLE_PROFILE.uid, isWXAuth: true, openId: 'oAbC123dEf456', appid: 'wx0123456789abcdef', sid: 'Qm9uam91ciBsZXMgYW1pcw', mid: null, role: null, iat: 1764000000, exp: 1764604800 }),
          ...errorResponses('session'),
        },
      },
    },
    '/api/v1/mp/account/user/info': {
      get: {
        operationId: 'getUserInfo',
        tags: [ 'account' ],
        summary: 'The caller\'s own profile',
        responses: { 200: ok('Profile', 'ProfileResponse', { isWXAuth: true, userInfo: EXAMPLE_PROFILE, apps: [ 'wx0123456789abcdef', 'wxfedcba9876543210' ] }), ...errorResponses('getUserInfo') },
      },
    },
    '/api/v1/mp/account/refreshToken': {
      get: {
        operationId: 'refreshToken',
        tags: [ 'account' ],
        summary: 'A fresh token from the current user record',
        responses: { 200: ok('New token', 'RefreshResponse', { token: EXAMPLE_TOKEN, isWXAuth: true, userInfo: EXAMPLE_PROFILE, apps: [ 'wx0123456789abcdef' ] }), ...errorResponses('refreshToken') },
      },
    },
    '/api/v1/mp/account/user/sessions': {
      get: {
        operationId: 'getSessions',
        tags: [ 'account' ],
        summary: 'My live sessions (one per login), mine marked current',
        responses: { 200: ok('Sessions', 'SessionList', { sessions: [{ sid: 'Qm9uam91ciBsZXMgYW1pcw', appid: 'wx0123456789abcdef', createdAt: '2026-11-20T08:00:00.000Z', refreshedAt: '2026-11-27T08:00:00.000Z', expiresAt: '2026-12-20T08:00:00.000Z', ip: '203.0.113.0/24', userAgent: 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50', current: true }] }), ...errorResponses('getSessions') },
      },
    },
    '/api/v1/mp/account/user/sessions/{sid}': {
      delete: {
        operationId: 'deleteSession',
        tags: [ 'account' ],
        summary: 'End one of my sessions (another phone)',
        description: 'Its tokens then get `401 SESSION_ENDED` everywhere within 2 seconds. Another user\'s sid, or one already ended, is a 404.',
        parameters: [{ name: 'sid', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 204: { description: 'Ended' }, ...errorResponses('deleteSession') },
      },
    },
    '/api/v1/mp/account/user/logout': {
      post: {
        operationId: 'wxmpLogout',
        tags: [ 'account' ],
        summary: 'Log out: end this token\'s session',
        description: 'Every token of the session (the login\'s and its refreshes\') then gets `401 SESSION_ENDED`, on every worker and host within 2 seconds.',
        responses: { 204: { description: 'Logged out' }, ...errorResponses('wxmpLogout') },
      },
    },
    '/api/v1/mp/account/user/bindPhone': {
      post: {
        operationId: 'wxmpBindPhone',
        tags: [ 'account' ],
        summary: 'Bind a phone number',
        description: 'A number belongs to one user: a number another user holds is `409 PHONE_TAKEN`. Binding a new number releases the old one.',
        requestBody: jsonBody('BindPhoneRequest', { code: 'e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144' }),
        responses: { 200: ok('Bound', 'PhoneResponse', { phone: '13800138000' }), ...errorResponses('wxmpBindPhone') },
      },
    },
    '/api/v1/mp/account/user/profile': {
      post: {
        operationId: 'wxmpProfile',
        tags: [ 'account' ],
        summary: 'Set the nickname and profile fields (content-checked)',
        description: 'The nickname is trimmed and checked with msg_sec_check (scene 1): `risky` is a 422 and nothing is stored; `review` is stored (and logged). The user becomes `isWXAuth: true`. Answers like `info`.',
        requestBody: jsonBody('ProfileRequest', { nickName: '小明', gender: 1, city: 'Shenzhen' }),
        responses: { 200: ok('Stored', 'ProfileResponse', { isWXAuth: true, userInfo: { ...EXAMPLE_PROFILE, nickName: '小明' }, apps: [ 'wx0123456789abcdef' ] }), ...errorResponses('wxmpProfile') },
      },
    },
    '/api/v1/mp/account/user/avatar': {
      post: {
        operationId: 'wxmpAvatar',
        tags: [ 'account' ],
        summary: 'Upload the avatar the user chose (the chooseAvatar button)',
        description: 'The image from `<button open-type="chooseAvatar">`, sent with `wx.uploadFile({ name: "avatar" })`. JPEG, PNG or WebP, told by its bytes; at most 2 MiB and 25 megapixels. Re-encoded to at most 640×640 without metadata, stored, checked with media_check_async (a `risky` verdict removes it later).',
        requestBody: {
          required: true,
          content: { 'multipart/form-data': { schema: { type: 'object', required: [ 'avatar' ], properties: { avatar: { type: 'string', contentMediaType: 'application/octet-stream' } } }, example: { avatar: '(the image file)' } } },
        },
        responses: { 200: ok('Stored', 'AvatarResponse', { avatarUrl: 'https://api.example.com/api/v1/mp/account/avatar/6561f0a1b2c3d4e5f6a7b8ca' }), ...errorResponses('wxmpAvatar') },
      },
    },
    '/api/v1/mp/account/avatar/{id}': {
      get: {
        operationId: 'getAvatar',
        tags: [ 'account' ],
        summary: 'An avatar image (public; its URL is the user\'s avatarUrl)',
        security: PUBLIC,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^(?:[A-Za-z0-9_-]{22}|[0-9a-f]{24})$' }, description: '22 base64url characters (avatars stored before: 24 hex digits)' }],
        responses: {
          200: { description: 'The image, with a strong ETag, cached for a year', content: { 'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' }, example: '(image bytes)' } } },
          304: { description: 'Not modified (If-None-Match)' },
          ...errorResponses('getAvatar'),
        },
      },
    },
    '/api/v1/mp/account/user/run': {
      post: {
        operationId: 'wxmpRun',
        tags: [ 'account' ],
        summary: 'Decrypted WeRun steps',
        requestBody: jsonBody('RunRequest', { jscode: '0a3Xyz1w3bCdEf0Gh2ij3k4LmN5oPq6r', encryptedData: 'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS', iv: 'r7BXXKkLb8qrSNn05n0qiA==' }),
        responses: {
          200: ok('Steps', 'RunResponse', { stepInfoList: [{ timestamp: 1764000000, step: 8000 }] }),
          ...errorResponses('wxmpRun'),
        },
      },
    },
    '/api/v1/mp/account/user': {
      delete: {
        operationId: 'deleteUser',
        tags: [ 'account' ],
        summary: 'Delete my account',
        description: 'Deletes the user, their avatars and media checks, frees their phone number and removes their WeChat link from the platform user of that number. Their tokens then get `401 USER_NOT_FOUND`; a new login makes a fresh user.',
        responses: { 204: { description: 'Deleted' }, ...errorResponses('deleteUser') },
      },
    },
    '/api/v1/mp/account/user/export': {
      get: {
        operationId: 'exportUser',
        tags: [ 'account' ],
        summary: 'A copy of my data (PIPL art. 45)',
        description: 'Everything stored about the caller, as a JSON download (`Content-Disposition: attachment`): account, apps and openids, phone, unionid, profile, sessions, avatars, content-check outcomes, pushed events about them.',
        responses: {
          200: ok('The data', 'UserExport', { exportedAt: '2026-11-30T08:00:00.000Z', user: { uid: EXAMPLE_PROFILE.uid, openId: 'oAbC123dEf456', apps: [{ appid: 'wx0123456789abcdef', openid: 'oAbC123dEf456' }] }, sessions: [], avatars: [], contentChecks: [], pushEvents: [], platformUser: null }),
          ...errorResponses('exportUser'),
        },
      },
    },
    '/api/v1/mp/account/user/subscriptions': {
      post: {
        operationId: 'wxmpSubscriptions',
        tags: [ 'account' ],
        summary: 'Report what the user accepted in wx.requestSubscribeMessage',
        description: 'Send the object `wx.requestSubscribeMessage` answered. Each `accept` of a one-time template allows one send; `ban` removes the sends left.',
        requestBody: jsonBody('SubscriptionsRequest', { errMsg: 'requestSubscribeMessage:ok', TPL_order_shipped: 'accept', TPL_reminder: 'reject' }),
        responses: { 200: ok('Recorded', 'SubscriptionsResponse', { subscriptions: { TPL_order_shipped: { status: 'accept', remaining: 1 }, TPL_reminder: { status: 'reject', remaining: 0 } } }), ...errorResponses('wxmpSubscriptions') },
      },
    },
    '/api/v1/mp/wxacode/scenes/{scene}': {
      get: {
        operationId: 'getWxacodeScene',
        tags: [ 'account' ],
        summary: 'The payload a mini-program code carries (public)',
        description: 'The page a code opens gets `scene` in its options and reads what was stored with the code here.',
        security: PUBLIC,
        parameters: [{ name: 'scene', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: ok('The payload', 'ScenePayload', { payload: { campaign: 'double11' } }), ...errorResponses('getWxacodeScene') },
      },
    },
    '/api/v1/mp/wechat/push': pushOperations(false),
    '/api/v1/mp/wechat/push/{appid}': pushOperations(true),
    '/api/v1/internal/wx/access_token': {
      get: {
        operationId: 'internalAccessToken',
        tags: [ 'internal' ],
        summary: 'The current access_token, for the team\'s other backends (中控服务器)',
        security: [{ internalKey: [ 'token' ] }],
        parameters: [ APPID_QUERY ],
        responses: { 200: ok('The token', 'AccessToken', { access_token: 'AT_0123456789', expires_in: 6890, expires_at: 1764010000 }), ...errorResponses('internalAccessToken') },
      },
    },
    '/api/v1/internal/wx/access_token/refresh': {
      post: {
        operationId: 'internalAccessTokenRefresh',
        tags: [ 'internal' ],
        summary: 'Report a token WeChat rejected (40001/42001): compare-and-set refresh',
        parameters: [ APPID_QUERY ],
        description: 'If it is still the current token it is invalidated and refreshed once (concurrent reports cost one upstream call); if it is already stale, the current token is answered without calling WeChat.',
        security: [{ internalKey: [ 'token' ] }],
        requestBody: jsonBody('ReportedToken', { access_token: 'AT_the_one_wechat_rejected' }),
        responses: { 200: ok('The current token', 'AccessToken', { access_token: 'AT_fresh_0123456789', expires_in: 7200, expires_at: 1764017200 }), ...errorResponses('internalAccessTokenRefresh') },
      },
    },
    '/api/v1/internal/wx/subscribe-messages': {
      post: {
        operationId: 'internalSubscribeSend',
        tags: [ 'gateway' ],
        summary: 'Send a subscribe message to a user (their consent counted)',
        description: 'Refused without a call to WeChat when the user has no accepted send of the template left (409 NO_SUBSCRIPTION) or a data value breaks its key type\'s rule (400 INVALID_PARAM naming the key). An `Idempotency-Key` header makes a retry answer the first outcome, never sending twice. WeChat\'s 43101 marks the template as not accepted. Every send is recorded 30 days.',
        security: [{ internalKey: [ 'messages' ] }],
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 128 } }],
        requestBody: jsonBody('SubscribeSendRequest', { uid: EXAMPLE_PROFILE.uid, template_id: 'TPL_order_shipped', page: 'pages/order/detail?id=42', data: { thing1: { value: '无线耳机' }, character_string2: { value: 'SF1234567890' }, date3: { value: '2026年11月30日' } } }),
        responses: { 200: ok('Sent', 'SubscribeSendResponse', { status: 'sent', msgid: 1764000000123, remaining: 0 }), ...errorResponses('internalSubscribeSend') },
      },
    },
    '/api/v1/internal/wx/wxacode': {
      post: {
        operationId: 'internalWxacode',
        tags: [ 'gateway' ],
        summary: 'A mini-program code (PNG), cached',
        description: 'getwxacodeunlimit. The same parameters answer the stored image without calling WeChat again (`X-Wxacode-Cache: hit`); `X-Wxacode-Scene` names the scene. WeChat\'s JSON errors are never stored or served as an image; its rate limit (45009) is a 429 with Retry-After.',
        security: [{ internalKey: [ 'messages' ] }],
        requestBody: jsonBody('WxacodeRequest', { payload: { campaign: 'double11', inviter: EXAMPLE_PROFILE.uid }, page: 'pages/poster/index', width: 430 }),
        responses: {
          200: { description: 'The code', content: { 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' }, example: '(PNG bytes)' } } },
          ...errorResponses('internalWxacode'),
        },
      },
    },
    '/api/v1/internal/wx/urllink': {
      post: {
        operationId: 'internalUrllink',
        tags: [ 'gateway' ],
        summary: 'A URL link that opens the mini-program (for SMS, e-mail, web)',
        description: 'generate_urllink; expiry at most 30 days (WeChat allows no more): `expire_interval` days or `expire_time`; 30 days when neither is given.',
        security: [{ internalKey: [ 'messages' ] }],
        requestBody: jsonBody('UrllinkRequest', { path: 'pages/order/detail', query: 'id=42', expire_interval: 7 }),
        responses: { 200: ok('The link', 'UrllinkResponse', { url_link: 'https://wxaurl.cn/AbCdEf' }), ...errorResponses('internalUrllink') },
      },
    },
    '/api/v1/internal/wx/cgi-bin/token': {
      get: {
        operationId: 'internalCgiToken',
        tags: [ 'gateway' ],
        summary: 'The access_token in WeChat\'s /cgi-bin/token shape, for SDKs',
        description: 'Point WxJava\'s `accessTokenUrl`, EasyWeChat\'s or wechatpy\'s token endpoint here: the caller authenticates as with WeChat (AppID and that app\'s AppSecret) and gets the central token; errors are WeChat\'s errcodes (40125 wrong secret, 40013 unknown AppID, 40002 grant_type), always HTTP 200. WeChat is never called for the caller.',
        security: PUBLIC,
        parameters: [
          { name: 'grant_type', in: 'query', required: true, schema: { const: 'client_credential' } },
          { name: 'appid', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'secret', in: 'query', required: true, schema: { type: 'string' } },
        ],
        responses: { 200: ok('The token, or WeChat\'s error', 'WeChatToken', { access_token: 'AT_0123456789', expires_in: 6890 }), ...errorResponses('internalCgiToken') },
      },
    },
    '/api/v1/internal/wx/cgi-bin/stable_token': {
      post: {
        operationId: 'internalCgiStableToken',
        tags: [ 'gateway' ],
        summary: 'The access_token in WeChat\'s /cgi-bin/stable_token shape, for SDKs',
        description: 'As `/cgi-bin/token`, with the body `{ grant_type, appid, secret, force_refresh? }` (force_refresh is not passed on: the central token is refreshed by its own rules).',
        security: PUBLIC,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' }, example: { grant_type: 'client_credential', appid: 'wx0123456789abcdef', secret: '(the AppSecret)' } } } },
        responses: { 200: ok('The token, or WeChat\'s error', 'WeChatToken', { errcode: 40125, errmsg: 'invalid appsecret rid: 1a2b3c4d' }), ...errorResponses('internalCgiStableToken') },
      },
    },
    '/api/v1/internal/users': {
      get: {
        operationId: 'internalFindUsers',
        tags: [ 'support' ],
        summary: 'Find a user by openid (of an app), phone or unionid',
        security: [{ internalKey: [ 'users:read' ] }],
        parameters: [
          { name: 'openid', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'appid', in: 'query', required: false, schema: { type: 'string' }, description: 'With openid: only a user whose openid is of this app' },
          { name: 'phone', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'unionid', in: 'query', required: false, schema: { type: 'string' } },
        ],
        responses: { 200: ok('The users found (none: an empty list)', 'SupportUserList', { users: [{ uid: EXAMPLE_PROFILE.uid, openId: 'oAbC123dEf456', appid: 'wx0123456789abcdef', apps: [{ appid: 'wx0123456789abcdef', openid: 'oAbC123dEf456' }], unionid: 'oUnion123', telphone: '13800138000', isWXAuth: true, profile: { nickName: '小明' }, _merchant: null, status: 'active', banned: null, createdAt: '2026-11-01T08:00:00.000Z', liveSessions: 2 }] }), ...errorResponses('internalFindUsers') },
      },
    },
    '/api/v1/internal/users/{uid}': {
      get: {
        operationId: 'internalGetUser',
        tags: [ 'support' ],
        summary: 'A user: profile, apps and openids, phone, status, live session count',
        security: [{ internalKey: [ 'users:read' ] }],
        parameters: [{ name: 'uid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } }],
        responses: { 200: ok('The user', 'SupportUser', { uid: EXAMPLE_PROFILE.uid, openId: 'oAbC123dEf456', appid: 'wx0123456789abcdef', apps: [{ appid: 'wx0123456789abcdef', openid: 'oAbC123dEf456' }], unionid: 'oUnion123', telphone: '13800138000', isWXAuth: true, profile: { nickName: '小明' }, _merchant: null, status: 'active', banned: null, createdAt: '2026-11-01T08:00:00.000Z', liveSessions: 2 }), ...errorResponses('internalGetUser') },
      },
      delete: {
        operationId: 'internalDeleteUser',
        tags: [ 'support' ],
        summary: 'Delete a user (a deletion request made through support)',
        description: 'The same deletion as the user\'s own DELETE /user. `?reason=` is kept in the audit trail.',
        security: [{ internalKey: [ 'users:write' ] }],
        parameters: [{ name: 'uid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } }, { name: 'reason', in: 'query', required: false, schema: { type: 'string', maxLength: 500 } }],
        responses: { 204: { description: 'Deleted' }, ...errorResponses('internalDeleteUser') },
      },
    },
    '/api/v1/internal/users/{uid}/events': {
      get: {
        operationId: 'internalUserEvents',
        tags: [ 'support' ],
        summary: 'A user\'s audit trail, newest first',
        security: [{ internalKey: [ 'users:read' ] }],
        parameters: [{ name: 'uid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
          { name: 'before', in: 'query', required: false, schema: { type: 'string' }, description: 'The `next` of the previous page' },
        ],
        responses: {
          200: ok('Events', 'AuditTrail', { events: [{ id: '6561f0a1b2c3d4e5f6a7b8d0', at: '2026-11-30T08:00:00.000Z', type: 'user_banned', actor: 'key:support-desk', reason: 'ticket #4711' }], next: null }),
          ...errorResponses('internalUserEvents'),
        },
      },
    },
    '/api/v1/internal/users/{uid}/ban': {
      post: {
        operationId: 'internalBanUser',
        tags: [ 'support' ],
        summary: 'Ban a user: 403 USER_BANNED at login and on every route, sessions ended',
        description: 'Within 2 seconds on every worker and host. Answers the user as it now is.',
        security: [{ internalKey: [ 'users:write' ] }],
        parameters: [{ name: 'uid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } }],
        requestBody: { required: false, content: { 'application/json': { schema: ref('SupportAction'), example: { reason: 'spam, ticket #4711' } } } },
        responses: { 200: ok('Banned', 'SupportUser', { ...{ uid: EXAMPLE_PROFILE.uid, openId: 'oAbC123dEf456', appid: 'wx0123456789abcdef', apps: [{ appid: 'wx0123456789abcdef', openid: 'oAbC123dEf456' }], unionid: 'oUnion123', telphone: '13800138000', isWXAuth: true, profile: { nickName: '小明' }, _merchant: null, status: 'active', banned: null, createdAt: '2026-11-01T08:00:00.000Z', liveSessions: 2 }, status: 'banned', banned: { at: '2026-11-30T08:00:00.000Z', reason: 'spam, ticket #4711', by: 'support-desk' }, liveSessions: 0 }), ...errorResponses('internalBanUser') },
      },
    },
    '/api/v1/internal/users/{uid}/unban': {
      post: {
        operationId: 'internalUnbanUser',
        tags: [ 'support' ],
        summary: 'Lift a ban: the user may log in again',
        security: [{ internalKey: [ 'users:write' ] }],
        parameters: [{ name: 'uid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } }],
        requestBody: { required: false, content: { 'application/json': { schema: ref('SupportAction'), example: { reason: 'appeal accepted' } } } },
        responses: { 200: ok('Active again', 'SupportUser', { uid: EXAMPLE_PROFILE.uid, openId: 'oAbC123dEf456', appid: 'wx0123456789abcdef', apps: [{ appid: 'wx0123456789abcdef', openid: 'oAbC123dEf456' }], unionid: 'oUnion123', telphone: '13800138000', isWXAuth: true, profile: { nickName: '小明' }, _merchant: null, status: 'active', banned: null, createdAt: '2026-11-01T08:00:00.000Z', liveSessions: 2 }), ...errorResponses('internalUnbanUser') },
      },
    },
    '/api/v1/internal/users/{uid}/sessions/end': {
      post: {
        operationId: 'internalEndSessions',
        tags: [ 'support' ],
        summary: 'Forced logout: end every session of a user',
        description: 'Their tokens get 401 SESSION_ENDED within 2 seconds everywhere; they can log in again.',
        security: [{ internalKey: [ 'users:write' ] }],
        parameters: [{ name: 'uid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } }],
        requestBody: { required: false, content: { 'application/json': { schema: ref('SupportAction'), example: { reason: 'phone stolen, ticket #4712' } } } },
        responses: { 200: ok('How many were ended', 'EndedSessions', { ended: 2 }), ...errorResponses('internalEndSessions') },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        tags: [ 'internal' ],
        summary: 'Prometheus metrics of all workers together',
        security: [{ internalKey: [ 'metrics' ] }],
        responses: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' }, example: '# TYPE http_requests_total counter\nhttp_requests_total{method="GET",route="/health",status="200"} 42' } } },
          ...errorResponses('metrics'),
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        tags: [ 'ops' ],
        summary: 'Liveness and readiness',
        security: PUBLIC,
        responses: {
          200: ok('Serving', 'Health', { status: 'ok', mongo: 'up', wxToken: 'ok', wxTokenAgeSeconds: 42, wxTokenLastFailure: null, wxSecret: 'ok', apps: [{ appid: 'wx0123456789abcdef', name: 'shop', wxToken: 'ok', wxTokenAgeSeconds: 42, wxTokenLastFailure: null, wxSecret: 'ok' }], avatars: 'ok', load: { inFlight: 3, bodyPending: 0, saturated: false } }),
          503: ok('MongoDB down, or this worker saturated', 'Health', { status: 'degraded', mongo: 'down', wxToken: 'missing', wxTokenAgeSeconds: null, wxTokenLastFailure: null, wxSecret: 'ok', apps: [{ appid: 'wx0123456789abcdef', name: 'shop', wxToken: 'missing', wxTokenAgeSeconds: null, wxTokenLastFailure: null, wxSecret: 'unknown' }], avatars: 'ok', load: { inFlight: 0, bodyPending: 0, saturated: false } }),
          ...errorResponses('health'),
        },
      },
    },
  },
} as const;

/** The operations, by operationId (= the seed's route names). */
export type OperationId = 'health' | 'wxmp' | 'wxmpBindPhone' | 'getUserInfo' | 'refreshToken' | 'session' | 'wxmpRun' | 'wxmpPushVerify' | 'wxmpPush' | 'wxmpPushVerifyApp' | 'wxmpPushApp'
| 'wxmpProfile' | 'wxmpAvatar' | 'getAvatar' | 'deleteUser' | 'wxmpLogout' | 'getSessions' | 'deleteSession' | 'exportUser'
| 'wxmpSubscriptions' | 'internalSubscribeSend' | 'internalWxacode' | 'getWxacodeScene' | 'internalUrllink' | 'internalCgiToken' | 'internalCgiStableToken'
| 'internalFindUsers' | 'internalGetUser' | 'internalUserEvents' | 'internalBanUser' | 'internalUnbanUser' | 'internalEndSessions' | 'internalDeleteUser'
| 'internalAccessToken' | 'internalAccessTokenRefresh' | 'metrics';

/** Bodies as the schemas above admit them (checked before a controller reads them). */
export interface LoginBody {
  jscode: string;
  appid?: string;
  encryptedData?: string;
  iv?: string;
}

export interface BindPhoneBody {
  code?: string;
  jscode?: string;
  encryptedData?: string;
  iv?: string;
}

/** What wx.requestSubscribeMessage answered: `{ "<templateId>": "accept" | "reject" | "ban" | "filter", errMsg? }`. */
export type SubscriptionsBody = Record<string, string>;

export interface SubscribeSendBody {
  appid?: string;
  uid: string;
  template_id: string;
  page?: string;
  data: Record<string, { value: string }>;
  miniprogram_state?: 'developer' | 'trial' | 'formal';
  lang?: string;
}

export interface WxacodeBody {
  appid?: string;
  scene?: string;
  payload?: unknown;
  page?: string;
  width?: number;
  env_version?: 'release' | 'trial' | 'develop';
  check_path?: boolean;
  auto_color?: boolean;
  line_color?: { r: number; g: number; b: number };
  is_hyaline?: boolean;
}

export interface UrllinkBody {
  appid?: string;
  path?: string;
  query?: string;
  expire_interval?: number;
  expire_time?: number;
  env_version?: 'release' | 'trial' | 'develop';
}

/** The body of a support action: why (recorded in the audit trail). */
export interface SupportActionBody {
  reason?: string;
}

/** The profile fields a user may set themselves (the avatar has its own route). */
export type ProfileBody = Omit<IWxUserInfo, 'avatarUrl'>;

export interface RunBody {
  jscode: string;
  encryptedData: string;
  iv: string;
}
