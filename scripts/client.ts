/**
 * `npm run client -- [--base-url URL] [--wechat-url URL] [--appid APPID] [--unionid ID] [--help]`
 *
 * Plays a mini-program against a running server: gets codes and ciphertexts from the
 * sandbox WeChat double (as wx.login / getUserProfile / getPhoneNumber / getWeRunData would),
 * then walks login → bindPhone (both forms) → info → refreshToken → run → nickname → avatar
 * → delete account, printing each
 * request and a one-line result. Exits non-zero on the first failure.
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const USAGE = `usage: npm run client -- [options]

Plays a mini-program against a running server (start one with \`npm run dev\` first):
login → login with profile → bindPhone (code) → bindPhone (encrypted) → info → refreshToken → run
→ nickname → avatar → delete account.

  --base-url URL     the server (default http://127.0.0.1:$PORT, PORT defaulting to 7001)
  --wechat-url URL   the sandbox WeChat double (default http://127.0.0.1:$SANDBOX_WECHAT_PORT, else 37018)
  --appid APPID      the mini-program to play (default wxsandbox0000000001; npm run dev also serves
                     wxsandbox0000000002, the merchant app)
  --unionid ID       the person's unionid across apps (default: one of their own); run the client
                     for each app with one unionid to see one user
  -h, --help         this text
`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        // the ports `npm run dev` reads, so a moved dev server is found without flags
        'base-url': { type: 'string', default: `http://127.0.0.1:${process.env.PORT?.trim() || '7001'}` },
        'wechat-url': { type: 'string', default: `http://127.0.0.1:${process.env.SANDBOX_WECHAT_PORT?.trim() || '37018'}` },
        appid: { type: 'string', default: 'wxsandbox0000000001' },
        unionid: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`client: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const baseUrl = String(values['base-url']).replace(/\/+$/, '');
const wechatUrl = String(values['wechat-url']).replace(/\/+$/, '');
const appid = String(values.appid);
const unionid = values.unionid === undefined ? undefined : String(values.unionid);
const openid = `o_client_${crypto.randomBytes(6).toString('hex')}`;
/** Fresh numbers each run: a number belongs to one user, and earlier runs' users keep theirs. */
const randomPhone = (prefix: string) => `${prefix}${String(crypto.randomInt(0, 1e8)).padStart(8, '0')}`;
const phones = { code: randomPhone('138'), encrypted: randomPhone('139') };

type Json = Record<string, unknown>;

class StepFailed extends Error {}

async function call(method: 'GET' | 'POST', url: string, body?: Json, token?: string): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    const which = url.startsWith(wechatUrl) ? 'the WeChat double' : 'the server';
    throw new StepFailed(`cannot reach ${which} at ${new URL(url).origin} (${cause}); is \`npm run dev\` running? (or pass --base-url / --wechat-url)`);
  }
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    throw new StepFailed(`${method} ${url} answered ${res.status} with a non-JSON body: ${text.slice(0, 120)}`);
  }
  return { status: res.status, body: parsed };
}

/** The mini-program side: what the WeChat client library would hand the app. */
const wx = {
  login: async () => String((await call('POST', `${wechatUrl}/sandbox/login`, { appid, openid, ...(unionid ? { unionid } : {}) })).body.code),
  encrypt: async (data: Json) => (await call('POST', `${wechatUrl}/sandbox/encrypt`, { appid, openid, data })).body as { encryptedData: string; iv: string },
  phoneCode: async (phoneNumber: string) => String((await call('POST', `${wechatUrl}/sandbox/phone-code`, { appid, phoneNumber })).body.code),
};

async function step(name: string, method: 'GET' | 'POST', path: string, body: Json | undefined, token: string | undefined, check: (b: Json) => string): Promise<Json> {
  process.stdout.write(`→ ${method} ${path}${body ? ` ${JSON.stringify(Object.keys(body))}` : ''}\n`);
  const res = await call(method, `${baseUrl}${path}`, body, token);
  if (res.status !== 200) throw new StepFailed(`${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const summary = check(res.body);
  process.stdout.write(`  ✔ ${name}: ${summary}\n`);
  return res.body;
}

function expect(cond: unknown, what: string): void {
  if (!cond) throw new StepFailed(what);
}

async function main(): Promise<void> {
  process.stdout.write(`client: server ${baseUrl}, WeChat double ${wechatUrl}, appid ${appid}, openid ${openid}\n`);
  const plain = await step('login (jscode only)', 'POST', '/api/v1/mp/account/user/auth', { jscode: await wx.login(), appid }, undefined, b => {
    expect(typeof b.token === 'string' && b.isWXAuth === false, 'plain login should return a token and isWXAuth false');
    return `uid ${(b.userInfo as Json).uid}, isWXAuth ${b.isWXAuth}`;
  });
  const profile = { openId: openid, nickName: '模拟用户', gender: 2, city: 'Hangzhou', province: 'Zhejiang', country: 'China', avatarUrl: 'https://example.invalid/a.png', language: 'zh_CN' };
  const login = await step('login (with profile)', 'POST', '/api/v1/mp/account/user/auth', { jscode: await wx.login(), appid, ...await wx.encrypt(profile) }, undefined, b => {
    const info = b.userInfo as Json;
    expect(b.isWXAuth === true && info.nickName === profile.nickName, 'profile login should store the profile');
    expect(info.uid === (plain.userInfo as Json).uid, 'same openId should be the same user');
    return `isWXAuth ${b.isWXAuth}, nickName ${info.nickName}`;
  });
  let token = String(login.token);
  await step('bindPhone ({ code })', 'POST', '/api/v1/mp/account/user/bindPhone', { code: await wx.phoneCode(phones.code) }, token, b => {
    expect(b.phone === phones.code, 'bindPhone should return the phone');
    return `phone ${b.phone}`;
  });
  await step('bindPhone ({ jscode, encryptedData, iv })', 'POST', '/api/v1/mp/account/user/bindPhone',
    { jscode: await wx.login(), ...await wx.encrypt({ phoneNumber: phones.encrypted, purePhoneNumber: phones.encrypted, countryCode: '86' }) }, token, b => {
      expect(b.phone === phones.encrypted, 'legacy bindPhone should return the phone');
      return `phone ${b.phone}`;
    });
  await step('info', 'GET', '/api/v1/mp/account/user/info', undefined, token, b => {
    const info = b.userInfo as Json;
    expect(info.telphone === phones.encrypted && info.nickName === profile.nickName, 'info should show the bound phone and profile');
    return `telphone ${info.telphone}, city ${info.city}`;
  });
  const refreshed = await step('refreshToken', 'GET', '/api/v1/mp/account/refreshToken', undefined, token, b => {
    expect(typeof b.token === 'string', 'refreshToken should return a token');
    return 'new token issued';
  });
  token = String(refreshed.token);
  const stepInfoList = [{ timestamp: Math.floor(Date.now() / 1000) - 86400, step: 6543 }, { timestamp: Math.floor(Date.now() / 1000), step: 10001 }];
  await step('run', 'POST', '/api/v1/mp/account/user/run', { jscode: await wx.login(), ...await wx.encrypt({ stepInfoList }) }, token, b => {
    const list = b.stepInfoList as Json[];
    expect(Array.isArray(list) && list.length === 2 && list[1].step === 10001, 'run should return the steps');
    return `${list.length} days, last ${list[1].step} steps`;
  });
  // Today's profile flow: <input type="nickname"> and <button open-type="chooseAvatar">.
  await step('nickname', 'POST', '/api/v1/mp/account/user/profile', { nickName: '新昵称', gender: 1, city: 'Hangzhou' }, token, b => {
    expect((b.userInfo as Json).nickName === '新昵称', 'profile should store the nickname');
    return `nickName ${(b.userInfo as Json).nickName}`;
  });
  process.stdout.write('→ POST /api/v1/mp/account/user/avatar (multipart, field "avatar")\n');
  const form = new FormData();
  const image = await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: 20, g: 160, b: 90 } } }).png().toBuffer();
  form.append('avatar', new Blob([ new Uint8Array(image) ], { type: 'image/png' }), 'tmp_chosen_avatar.png');
  const uploaded = await fetch(`${baseUrl}/api/v1/mp/account/user/avatar`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const avatar = await uploaded.json() as Json;
  if (uploaded.status !== 200) throw new StepFailed(`avatar: HTTP ${uploaded.status} ${JSON.stringify(avatar)}`);
  const served = await fetch(String(avatar.avatarUrl));
  expect(served.status === 200 && served.headers.get('content-type') === 'image/png', 'the avatar should be served at avatarUrl');
  process.stdout.write(`  ✔ avatar: ${avatar.avatarUrl}\n`);
  // Sessions: the two logins above are two sessions; the first one ends from "this phone".
  const listed = await step('sessions', 'GET', '/api/v1/mp/account/user/sessions', undefined, token, b => {
    const sessions = b.sessions as Json[];
    expect(Array.isArray(sessions) && sessions.length === 2 && sessions.filter(x => x.current).length === 1, 'two logins should be two sessions, one of them current');
    return `${sessions.length} live, this one ${String(sessions.find(x => x.current)?.sid).slice(0, 6)}…`;
  });
  const other = (listed.sessions as Json[]).find(x => !x.current);
  process.stdout.write(`→ DELETE /api/v1/mp/account/user/sessions/${String(other?.sid)}\n`);
  const endedOther = await fetch(`${baseUrl}/api/v1/mp/account/user/sessions/${String(other?.sid)}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  expect(endedOther.status === 204, `ending a session should answer 204, got ${endedOther.status}`);
  const oldToken = await call('GET', `${baseUrl}/api/v1/mp/account/user/info`, undefined, String(plain.token));
  expect(oldToken.status === 401 && oldToken.body.code === 'SESSION_ENDED', 'the ended session\'s token should be refused');
  process.stdout.write('  ✔ end the other session: 204, its token now gets SESSION_ENDED\n');
  const exported = await call('GET', `${baseUrl}/api/v1/mp/account/user/export`, undefined, token);
  expect(exported.status === 200 && (exported.body.user as Json).uid === (login.userInfo as Json).uid, 'the export should hold the user');
  process.stdout.write(`→ GET /api/v1/mp/account/user/export\n  ✔ export: ${Object.keys(exported.body).join(', ')}\n`);
  process.stdout.write('→ DELETE /api/v1/mp/account/user\n');
  const deleted = await fetch(`${baseUrl}/api/v1/mp/account/user`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  expect(deleted.status === 204, `delete should answer 204, got ${deleted.status}`);
  const gone = await call('GET', `${baseUrl}/api/v1/mp/account/user/info`, undefined, token);
  expect(gone.status === 401 && gone.body.code === 'USER_NOT_FOUND', 'a deleted user\'s token should be refused');
  process.stdout.write('  ✔ delete account: 204, the token now gets USER_NOT_FOUND\n');
  // Logout, on a fresh login of a fresh user (the one above is gone).
  const again = await call('POST', `${baseUrl}/api/v1/mp/account/user/auth`, { jscode: await wx.login(), appid });
  process.stdout.write('→ POST /api/v1/mp/account/user/logout\n');
  const out = await fetch(`${baseUrl}/api/v1/mp/account/user/logout`, { method: 'POST', headers: { authorization: `Bearer ${String(again.body.token)}` } });
  const after = await call('GET', `${baseUrl}/api/v1/mp/account/user/info`, undefined, String(again.body.token));
  expect(out.status === 204 && after.status === 401 && after.body.code === 'SESSION_ENDED', 'logout should end the session');
  process.stdout.write('  ✔ logout: 204, the token now gets SESSION_ENDED\n');
  process.stdout.write('client: all steps passed\n');
}

main().catch(err => {
  process.stderr.write(`client: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
