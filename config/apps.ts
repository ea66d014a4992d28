/**
 * Which mini-programs this deployment serves. One app comes from WXMP_APPID/WXMP_SECRET/
 * WXMP_TOKEN_MODE/WXMP_PUSH_TOKEN/WXMP_PUSH_AES_KEY, exactly as before; several from the JSON
 * file WXMP_APPS_FILE names (a Kubernetes or compose secret mounts as such a file):
 *
 *   [{ "appid": "wx…", "secret": "…", "name": "shop", "tokenMode": "stable",
 *      "pushToken": "…", "pushAesKey": "…" }, …]
 *
 * The first app of the file is the deployment's first app: tokens issued before apps were
 * named in tokens, and the message push's old path, belong to it.
 */
import fs from 'node:fs';

export type TokenMode = 'classic' | 'stable';

/** One mini-program's settings. */
export interface WxAppConfig {
  appid: string;
  /** AppSecret. Sent only to WeChat; never logged, never returned. */
  secret: string;
  /** For people (logs, /health); the appid when not given. */
  name: string;
  tokenMode: TokenMode;
  /** The message push's Token and EncodingAESKey in this app's console; empty token = push off. */
  push: { token: string; aesKey: string };
}

const APPID = /^wx[A-Za-z0-9]{16,32}$/;
const SECRET = /^[A-Za-z0-9_-]{16,64}$/;
const PUSH_TOKEN = /^[A-Za-z0-9]{3,32}$/;
const PUSH_AES_KEY = /^[A-Za-z0-9]{43}$/;
const NAME = /^[\p{L}\p{N} _.-]{1,64}$/u;
const FIELDS = new Set([ 'appid', 'secret', 'name', 'tokenMode', 'pushToken', 'pushAesKey' ]);

/**
 * Reads and checks an apps file. Problems are one line each, naming the app (its appid, or
 * its position) and the field; a secret's value is never in them.
 */
export function readAppsFile(file: string): { apps: WxAppConfig[]; problems: string[] } {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { apps: [], problems: [ `WXMP_APPS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})` ] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // The parser's message may quote the file, secrets included.
    return { apps: [], problems: [ `WXMP_APPS_FILE: ${file} is not valid JSON` ] };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return { apps: [], problems: [ `WXMP_APPS_FILE: ${file} must hold a non-empty JSON array of { appid, secret, name?, tokenMode?, pushToken?, pushAesKey? }` ] };
  }
  const apps: WxAppConfig[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, i: number) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      problems.push(`WXMP_APPS_FILE: app #${i + 1} must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const label = typeof e.appid === 'string' && APPID.test(e.appid) ? `app ${e.appid}` : `app #${i + 1}`;
    const bad = (field: string, rule: string) => problems.push(`WXMP_APPS_FILE: ${label}: ${field} ${rule}`);
    for (const key of Object.keys(e)) if (!FIELDS.has(key)) bad(key, 'is not a known field (appid, secret, name, tokenMode, pushToken, pushAesKey)');
    if (typeof e.appid !== 'string' || !APPID.test(e.appid)) bad('appid', 'must be the AppID (wx followed by 16 or more letters or digits)');
    else if (seen.has(e.appid)) bad('appid', 'appears twice');
    else seen.add(e.appid);
    if (typeof e.secret !== 'string' || !SECRET.test(e.secret)) bad('secret', 'must be the AppSecret (16-64 letters, digits, _ or -)');
    if (e.name !== undefined && (typeof e.name !== 'string' || !NAME.test(e.name))) bad('name', 'must be 1-64 letters, digits, spaces, _ . or -');
    if (e.tokenMode !== undefined && e.tokenMode !== 'classic' && e.tokenMode !== 'stable') bad('tokenMode', 'must be "classic" or "stable"');
    if (e.pushToken !== undefined && (typeof e.pushToken !== 'string' || !PUSH_TOKEN.test(e.pushToken))) bad('pushToken', 'must be 3-32 letters or digits (as the console requires)');
    if (e.pushAesKey !== undefined && (typeof e.pushAesKey !== 'string' || !PUSH_AES_KEY.test(e.pushAesKey))) bad('pushAesKey', 'must be the 43-character EncodingAESKey');
    if (e.pushAesKey !== undefined && e.pushToken === undefined) bad('pushAesKey', 'is set but pushToken is not');
    apps.push({
      appid: String(e.appid ?? ''),
      secret: String(e.secret ?? ''),
      name: typeof e.name === 'string' ? e.name : String(e.appid ?? ''),
      tokenMode: e.tokenMode === 'stable' ? 'stable' : 'classic',
      push: { token: typeof e.pushToken === 'string' ? e.pushToken : '', aesKey: typeof e.pushAesKey === 'string' ? e.pushAesKey : '' },
    });
  });
  return { apps: problems.length ? [] : apps, problems };
}

/** The one-app variables that WXMP_APPS_FILE replaces (both forms at once is a problem). */
export const ONE_APP_VARIABLES = [ 'WXMP_APPID', 'WXMP_SECRET', 'WXMP_TOKEN_MODE', 'WXMP_PUSH_TOKEN', 'WXMP_PUSH_AES_KEY' ] as const;
