import { ONE_APP_VARIABLES, readAppsFile } from './apps';

/**
 * The one place the configuration reads the environment. Every variable a deployment may
 * set is named here, so the README table and the code cannot drift apart silently.
 */
export type EnvName =
  | 'MONGODB_URI'
  | 'WXMP_APPID'
  | 'WXMP_APPS_FILE'
  | 'WXMP_SECRET'
  | 'WXMP_API_BASE'
  | 'WXMP_TOKEN_MODE'
  | 'WXMP_DECRYPT_MAX_AGE'
  | 'JWT_SECRET'
  | 'JWT_EXPIRES_IN'
  | 'SESSION_MAX_AGE'
  | 'EGG_KEYS'
  | 'LOG_DIR'
  | 'PORT'
  | 'HOST'
  | 'WORKERS'
  | 'RATE_LIMIT_LOGIN_PER_MINUTE'
  | 'RATE_LIMIT_USER_PER_MINUTE'
  | 'TRUST_PROXY'
  | 'KEEP_ALIVE_TIMEOUT'
  | 'OVERLOAD_MAX_IN_FLIGHT'
  | 'MAX_CONNECTIONS_PER_ADDRESS'
  | 'APP_TITLE'
  | 'SANDBOX_MONGO_PORT'
  | 'SANDBOX_WECHAT_PORT'
  | 'WXMP_PUSH_TOKEN'
  | 'WXMP_PUSH_AES_KEY'
  | 'PUBLIC_BASE_URL'
  | 'AVATAR_MAX_BYTES'
  | 'INTERNAL_API_KEYS'
  | 'AUDIT_RETENTION_DAYS'
  | 'JWT_PREVIOUS_SECRETS';

/** The variables `prod` refuses to start without. */
export const REQUIRED_IN_PROD: readonly EnvName[] = [ 'MONGODB_URI', 'WXMP_APPID', 'WXMP_SECRET', 'JWT_SECRET' ];
export const MIN_JWT_SECRET_LENGTH = 32;
/** A secret of one repeated character (or a few) is long but guessable. */
export const MIN_JWT_SECRET_DISTINCT = 8;
export const MIN_INTERNAL_KEY_LENGTH = 32;

/** What an internal key may do. */
export const INTERNAL_SCOPES = [ 'token', 'metrics', 'users:read', 'users:write', 'messages' ] as const;
export type InternalScope = typeof INTERNAL_SCOPES[number];
/** A key written without scopes keeps what every key could do before scopes existed. */
export const DEFAULT_SCOPES: readonly InternalScope[] = [ 'token', 'metrics' ];

export interface InternalKey {
  name: string;
  key: string;
  /** Absent: DEFAULT_SCOPES. */
  scopes?: InternalScope[];
}

/**
 * `INTERNAL_API_KEYS="name:key[:scope+scope...],..."`: the callers of the internal API, by name,
 * each with what it may do (`token`, `metrics`, `users:read`, `users:write`, `messages`). A key
 * without scopes has `token` and `metrics`, as every key had before scopes existed.
 */
export function parseInternalKeys(raw: string | undefined): { keys: InternalKey[]; problems: string[] } {
  const keys: InternalKey[] = [];
  const problems: string[] = [];
  for (const entry of (raw ?? '').split(',').map(e => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon) : '';
    let key = colon > 0 ? entry.slice(colon + 1) : '';
    let scopes: InternalScope[] | undefined;
    // `key:scopes` when what follows the key's first colon is a list of known scopes; a key
    // of the earlier form may itself hold a colon.
    const split = key.indexOf(':');
    if (split > 0) {
      const listed = key.slice(split + 1).split('+');
      if (listed.every(x => (INTERNAL_SCOPES as readonly string[]).includes(x))) {
        scopes = [ ...new Set(listed as InternalScope[]) ];
        key = key.slice(0, split);
      } else if (/^[a-z:+]+$/.test(key.slice(split + 1))) {
        problems.push(`INTERNAL_API_KEYS: the key of "${name}" names an unknown scope (known: ${INTERNAL_SCOPES.join(', ')})`);
        continue;
      }
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || !key) {
      problems.push('INTERNAL_API_KEYS must be name:key or name:key:scope+scope pairs separated by commas');
      continue;
    }
    if (key.length < MIN_INTERNAL_KEY_LENGTH) problems.push(`INTERNAL_API_KEYS: the key of "${name}" must be at least ${MIN_INTERNAL_KEY_LENGTH} characters (got ${key.length})`);
    keys.push(scopes ? { name, key, scopes } : { name, key });
  }
  return { keys, problems };
}

/** `JWT_PREVIOUS_SECRETS="old1,old2"`: earlier JWT secrets that still verify during a rotation. */
export function previousJwtSecrets(): string[] {
  return (env('JWT_PREVIOUS_SECRETS') ?? '').split(',').map(x => x.trim()).filter(Boolean);
}

/**
 * What a production start should hear about but may run with, one line each: settings that
 * work and are weaker than they could be. Printed once by `npm start`.
 */
export function prodEnvWarnings(): string[] {
  const warnings: string[] = [];
  if (env('WXMP_PUSH_TOKEN') !== undefined && env('WXMP_PUSH_AES_KEY') === undefined) {
    warnings.push('warning: the message push runs in plaintext mode (WXMP_PUSH_TOKEN without WXMP_PUSH_AES_KEY): its signature does not cover the message; choose safe mode (安全模式) in the console and set WXMP_PUSH_AES_KEY');
  }
  return warnings;
}

/** A set, non-blank variable, or undefined. */
export function env(name: EnvName): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function envInt(name: EnvName, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/**
 * Problems with the production environment, one line each; empty when it is complete.
 * Used by config.prod.ts (the app refuses to boot) and scripts/instance.js (npm start
 * refuses before daemonising, so the operator sees the lines at once).
 */
export function prodEnvProblems(): string[] {
  const appsFile = env('WXMP_APPS_FILE');
  // With an apps file, the AppID and AppSecret come from it.
  const required = appsFile === undefined ? REQUIRED_IN_PROD : REQUIRED_IN_PROD.filter(name => name !== 'WXMP_APPID' && name !== 'WXMP_SECRET');
  const problems = required.filter(name => env(name) === undefined)
    .map(name => `missing environment variable ${name}`);
  if (appsFile !== undefined) {
    const both = ONE_APP_VARIABLES.filter(name => env(name) !== undefined);
    if (both.length) problems.push(`WXMP_APPS_FILE is set, and so is ${both.join(', ')}: configure the apps in one place (move them into the file)`);
    problems.push(...readAppsFile(appsFile).problems);
  }
  const secret = env('JWT_SECRET');
  if (secret !== undefined && secret.length < MIN_JWT_SECRET_LENGTH) {
    problems.push(`JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters (got ${secret.length})`);
  } else if (secret !== undefined && new Set(secret).size < MIN_JWT_SECRET_DISTINCT) {
    problems.push(`JWT_SECRET must use at least ${MIN_JWT_SECRET_DISTINCT} different characters (a random value: openssl rand -base64 48)`);
  }
  const mongoUri = env('MONGODB_URI');
  if (mongoUri !== undefined && !/^mongodb(\+srv)?:\/\/[^/?#]+/.test(mongoUri)) {
    problems.push('MONGODB_URI must be a mongodb:// or mongodb+srv:// connection string');
  } else if (mongoUri !== undefined && !/^mongodb(\+srv)?:\/\/[^/?#]+\/[^/?#]+/.test(mongoUri)) {
    // Without one the driver writes everything into the database "test".
    problems.push('MONGODB_URI must name the database (mongodb://host:27017/wxmp)');
  }
  const pushToken = env('WXMP_PUSH_TOKEN');
  const pushKey = env('WXMP_PUSH_AES_KEY');
  if (pushToken !== undefined && !/^[A-Za-z0-9]{3,32}$/.test(pushToken)) {
    problems.push('WXMP_PUSH_TOKEN must be 3-32 letters or digits (as the mini-program console requires)');
  }
  if (pushKey !== undefined && !/^[A-Za-z0-9]{43}$/.test(pushKey)) problems.push('WXMP_PUSH_AES_KEY must be the 43-character EncodingAESKey');
  if (pushKey !== undefined && pushToken === undefined) problems.push('WXMP_PUSH_AES_KEY is set but WXMP_PUSH_TOKEN is not');
  problems.push(...parseInternalKeys(env('INTERNAL_API_KEYS')).problems);
  if (previousJwtSecrets().some(x => x.length < MIN_JWT_SECRET_LENGTH)) problems.push(`JWT_PREVIOUS_SECRETS: each secret must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  const base = env('PUBLIC_BASE_URL');
  if (base !== undefined && !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(base)) problems.push('PUBLIC_BASE_URL must be an http(s) URL like https://api.example.com');
  const mode = env('WXMP_TOKEN_MODE');
  if (mode !== undefined && mode !== 'classic' && mode !== 'stable') {
    problems.push(`WXMP_TOKEN_MODE must be "classic" or "stable" (got "${mode}")`);
  }
  return problems;
}
