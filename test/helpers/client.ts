import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MockApplication } from 'egg-mock';
import { wechat } from './sandbox';

/** Plays the mini-program against the test app and the WeChat double. */
export class MiniProgram {
  /**
   * One person in one mini-program (`appid`, the app's first app when not given). `unionid`:
   * the person across apps (a string), none (`null`), or derived from the openid (undefined).
   */
  constructor(
    private readonly app: MockApplication,
    readonly openid = `o_${crypto.randomBytes(8).toString('hex')}`,
    private readonly person: { appid?: string; unionid?: string | null } = {},
  ) {}

  get appid(): string {
    return this.person.appid ?? this.app.config.wxmp.appid;
  }

  /** wx.login */
  loginCode(): string {
    return wechat().issueLoginCode(this.appid, this.openid, this.person.unionid);
  }

  get sessionKey(): string {
    return wechat().sessionKeyFor(this.appid, this.openid);
  }

  /** What wx.getUserProfile / getPhoneNumber / getWeRunData hand the client. */
  encrypt(data: Record<string, unknown>, watermarkTimestamp?: number): { encryptedData: string; iv: string } {
    return wechat().encryptFor(this.appid, this.openid, data, watermarkTimestamp);
  }

  profile(): Record<string, unknown> {
    return { openId: this.openid, nickName: '微信用户', gender: 1, city: 'Shenzhen', province: 'Guangdong', country: 'China', avatarUrl: 'https://thirdwx.qlogo.cn/a.png', language: 'zh_CN', ...this.unionIdField() };
  }

  /** The unionId WeChat puts in decrypted user data: the one jscode2session gives. */
  private unionIdField(): { unionId?: string } {
    if (this.person.unionid === null) return {};
    return { unionId: this.person.unionid ?? wechat().unionidFor(this.openid) };
  }

  async login(withProfile = false): Promise<{ token: string; isWXAuth: boolean; userInfo: Record<string, unknown> }> {
    const named = this.person.appid ? { appid: this.person.appid } : {};
    const body = withProfile ? { jscode: this.loginCode(), ...this.encrypt(this.profile()), ...named } : { jscode: this.loginCode(), ...named };
    const res = await this.app.httpRequest().post('/api/v1/mp/account/user/auth').send(body)
      .expect(200);
    return res.body;
  }
}

/** AES-128-CBC with PKCS#7, for ciphertexts the double would never produce (wrong watermark...). */
export function encryptRaw(sessionKey: string, plaintext: string, iv = crypto.randomBytes(16)): { encryptedData: string; iv: string } {
  const cipher = crypto.createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  return { encryptedData: Buffer.concat([ cipher.update(plaintext, 'utf8'), cipher.final() ]).toString('base64'), iv: iv.toString('base64') };
}

/**
 * A real listening server for tests that send requests concurrently (egg-mock's
 * httpRequest shares one ephemeral server per call and resets concurrent ones).
 */
export async function listen(app: MockApplication): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(app.callback());
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

let clusterLike: Promise<{ url: string; server: http.Server }> | undefined;

/**
 * The app behind an HTTP server wired as egg-cluster and egg wire a worker's: our `server`
 * hook (the limits) before listening, and egg's clientError handler. (egg-mock already
 * spent egg's own once-only `server` hook on its internal server, so that handler is
 * attached here as egg's onServer attaches it.) One per test process.
 */
export function clusterLikeServer(app: MockApplication): Promise<{ url: string; server: http.Server }> {
  clusterLike ??= (async () => {
    const server = http.createServer(app.callback());
    app.emit('server', server);
    const egg = app as unknown as { onClientError(err: Error, socket: Socket): void }; // egg's, untyped
    server.on('clientError', (err: Error, socket: Socket) => egg.onClientError(err, socket));
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()));
    server.unref();
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  })();
  return clusterLike;
}
