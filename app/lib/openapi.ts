/**
 * OpenAPI 3.1 description of every route, error and schema. Served at /openapi.json and
 * rendered at /docs; the test suite validates real responses of each route against it.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const nullable = (type: string): Schema => ({ type: [ type, 'null' ] });

const CODE_PATTERN = '^[A-Za-z0-9_-]{1,128}$';
const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

function errorResponses(...statuses: number[]): Record<string, unknown> {
  const descriptions: Record<number, string> = {
    400: 'Invalid input (`INVALID_PARAM`, `INVALID_BODY`), undecryptable data (`DECRYPT_FAILED`: log in again), data that decrypts but lacks its field (`DATA_INCOMPLETE`), `OPENID_MISMATCH`, or a WeChat code that is invalid or used (`INVALID_CODE`)',
    401: 'Missing, invalid or expired token (`UNAUTHORIZED`, `TOKEN_EXPIRED`), or the user was deleted (`USER_NOT_FOUND`)',
    403: 'WeChat blocked a high-risk user (`WECHAT_RISK_BLOCKED`, errcode 40226)',
    409: 'The phone number is bound to another account (`PHONE_TAKEN`); nothing changed',
    413: 'Body over 64 KiB (`PAYLOAD_TOO_LARGE`)',
    429: 'Too many requests from this address or user (`RATE_LIMITED`), or WeChat\'s rate limit (`WECHAT_RATE_LIMITED`, errcode 45011/45009); `Retry-After` says when to retry',
    500: 'Unexpected server error (`INTERNAL_ERROR`); details only in the server log',
    502: 'WeChat unreachable or failing (`WECHAT_UNAVAILABLE`, `WECHAT_ERROR`)',
    503: 'Database unavailable (`DB_UNAVAILABLE`), access_token refresh pending (`WECHAT_TOKEN_UNAVAILABLE`), or this server is busy (`OVERLOADED`, with `Retry-After`)',
    504: 'WeChat did not answer in time (`WECHAT_TIMEOUT`)',
  };
  return Object.fromEntries(statuses.map(s => [ String(s), { description: descriptions[s], content: json(ref('Error')) } ]));
}

const bearer = [ { bearerAuth: [] } ];

const USER_INFO_REQUIRED = [ 'uid', 'telphone', '_merchant' ];
/** `userInfo` as info/refreshToken return it; login's adds the stored `language`. */
const PROFILE_USER_INFO: Record<string, Schema> = {
  uid: { type: 'string' },
  telphone: nullable('string'),
  _merchant: { oneOf: [ ref('Merchant'), { type: 'null' } ] },
  nickName: { type: 'string' },
  avatarUrl: { type: 'string' },
  gender: { type: 'integer' },
  city: { type: 'string' },
  province: { type: 'string' },
  country: { type: 'string' },
};

export const openapiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'wxmp-egg-backend',
    version: '0.1.0',
    description: 'WeChat mini-program backend: login with wx.login codes, user data decryption, phone binding, session tokens.',
  },
  servers: [ { url: '/' } ],
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (HS256)' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: [ 'code', 'message' ],
        additionalProperties: false,
        properties: {
          code: { type: 'string', description: 'Stable machine-readable code', examples: [ 'INVALID_PARAM' ] },
          message: { type: 'string' },
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
          jscode: { type: 'string', pattern: CODE_PATTERN, description: 'The code from wx.login()' },
          encryptedData: { type: 'string', pattern: BASE64_PATTERN, maxLength: 32768, description: 'From wx.getUserProfile(); send with iv' },
          iv: { type: 'string', pattern: '^[A-Za-z0-9+/]{22}==$' },
        },
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
        required: [ 'token', 'isWXAuth', 'userInfo' ],
        additionalProperties: false,
        properties: { token: { type: 'string' }, isWXAuth: { type: 'boolean' }, userInfo: ref('LoginUserInfo') },
      },
      ProfileResponse: {
        type: 'object',
        required: [ 'isWXAuth', 'userInfo' ],
        additionalProperties: false,
        properties: { isWXAuth: { type: 'boolean' }, userInfo: ref('ProfileUserInfo') },
      },
      RefreshResponse: {
        type: 'object',
        required: [ 'token', 'isWXAuth', 'userInfo' ],
        additionalProperties: false,
        properties: { token: { type: 'string' }, isWXAuth: { type: 'boolean' }, userInfo: ref('ProfileUserInfo') },
      },
      BindPhoneRequest: {
        oneOf: [
          { type: 'object', required: [ 'code' ], properties: { code: { type: 'string', pattern: CODE_PATTERN, description: 'getPhoneNumber code (base library ≥ 2.21.2)' } } },
          {
            type: 'object',
            required: [ 'jscode', 'encryptedData', 'iv' ],
            properties: { jscode: { type: 'string', pattern: CODE_PATTERN }, encryptedData: { type: 'string', pattern: BASE64_PATTERN }, iv: { type: 'string' } },
          },
        ],
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
        properties: { jscode: { type: 'string', pattern: CODE_PATTERN }, encryptedData: { type: 'string', pattern: BASE64_PATTERN }, iv: { type: 'string' } },
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
          openId: { type: 'string' },
          mid: nullable('string'),
          role: nullable('string'),
          iat: { type: 'integer' },
          exp: { type: 'integer' },
        },
      },
      Health: {
        type: 'object',
        required: [ 'status', 'mongo', 'wxToken', 'wxTokenAgeSeconds' ],
        additionalProperties: false,
        properties: {
          status: { enum: [ 'ok', 'degraded' ] },
          mongo: { enum: [ 'up', 'down' ] },
          wxToken: { enum: [ 'mounted', 'missing' ] },
          wxTokenAgeSeconds: nullable('integer'),
        },
      },
    },
  },
  paths: {
    '/health': {
      get: {
        summary: 'Liveness and readiness',
        responses: {
          200: { description: 'Serving', content: json(ref('Health')) },
          503: { description: 'MongoDB down', content: json(ref('Health')) },
        },
      },
    },
    '/api/v1/mp/account/user/auth': {
      post: {
        summary: 'Log in with a wx.login code (optionally with encrypted profile data)',
        requestBody: { required: true, content: json(ref('LoginRequest')) },
        responses: { 200: { description: 'Logged in', content: json(ref('LoginResponse')) }, ...errorResponses(400, 403, 413, 429, 500, 502, 503, 504) },
      },
    },
    '/api/v1/mp/account/user/bindPhone': {
      post: {
        summary: 'Bind a phone number',
        security: bearer,
        requestBody: { required: true, content: json(ref('BindPhoneRequest')) },
        responses: { 200: { description: 'Bound', content: json(ref('PhoneResponse')) }, ...errorResponses(400, 401, 409, 413, 429, 500, 502, 503, 504) },
      },
    },
    '/api/v1/mp/account/user/info': {
      get: {
        summary: 'The caller\'s own profile',
        security: bearer,
        responses: { 200: { description: 'Profile', content: json(ref('ProfileResponse')) }, ...errorResponses(401, 500, 503) },
      },
    },
    '/api/v1/mp/account/refreshToken': {
      get: {
        summary: 'A fresh token from the current user record',
        security: bearer,
        responses: { 200: { description: 'New token', content: json(ref('RefreshResponse')) }, ...errorResponses(401, 500, 503) },
      },
    },
    '/api/v1/mp/account/session': {
      get: {
        summary: 'The verified token\'s claims (no database read)',
        security: bearer,
        responses: { 200: { description: 'Claims', content: json(ref('SessionClaims')) }, ...errorResponses(401, 503) },
      },
    },
    '/api/v1/mp/account/user/run': {
      post: {
        summary: 'Decrypted WeRun steps',
        security: bearer,
        requestBody: { required: true, content: json(ref('RunRequest')) },
        responses: { 200: { description: 'Steps', content: json(ref('RunResponse')) }, ...errorResponses(400, 401, 413, 429, 500, 502, 503, 504) },
      },
    },
  },
} as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A self-contained HTML rendering of the document (no CDN, no scripts). */
export function renderDocsHtml(): string {
  const sections: string[] = [];
  for (const [ path, ops ] of Object.entries(openapiDocument.paths)) {
    for (const [ method, op ] of Object.entries(ops as Record<string, { summary: string; security?: unknown; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }> }>)) {
      const rows = Object.entries(op.responses).map(([ status, r ]) => {
        const schema = r.content?.['application/json']?.schema;
        const name = schema && typeof schema.$ref === 'string' ? schema.$ref.split('/').pop() : '';
        return `<tr><td>${status}</td><td>${escapeHtml(r.description)}</td><td><a href="#schema-${name}">${name}</a></td></tr>`;
      }).join('');
      const body = op.requestBody?.content['application/json']?.schema;
      const bodyName = body && typeof body.$ref === 'string' ? body.$ref.split('/').pop() : '';
      sections.push(`<section><h2><code>${method.toUpperCase()} ${escapeHtml(path)}</code>${op.security ? ' 🔒 Bearer JWT' : ''}</h2>
<p>${escapeHtml(op.summary)}</p>${bodyName ? `<p>Body: <a href="#schema-${bodyName}">${bodyName}</a></p>` : ''}
<table><tr><th>status</th><th>meaning</th><th>schema</th></tr>${rows}</table></section>`);
    }
  }
  const schemas = Object.entries(openapiDocument.components.schemas)
    .map(([ name, schema ]) => `<h3 id="schema-${name}">${name}</h3><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${openapiDocument.info.title} API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}pre{background:#f6f6f6;padding:8px;overflow:auto}code{background:#f0f0f0}</style>
</head><body><h1>${openapiDocument.info.title} ${openapiDocument.info.version}</h1><p>${escapeHtml(openapiDocument.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${openapiDocument.openapi}). Errors are always <code>{ code, message }</code>.</p>
${sections.join('\n')}<h2>Schemas</h2>${schemas}</body></html>`;
}
