/**
 * The double's side of the team's WeChat gateway: subscribe messages
 * (/cgi-bin/message/subscribe/send), unlimited mini-program codes (/wxa/getwxacodeunlimit)
 * and URL links (/wxa/generate_urllink), answering as WeChat documents them, errcodes included.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

type Answer = Record<string, unknown>;

/**
 * A PNG file: its header claiming `width`×`height` in `colourType` (0 grey, 2 RGB) at 8 bits,
 * and `scanlines` (each led by its filter byte) deflated as its one IDAT chunk.
 */
export function pngFile(width: number, height: number, colourType: number, scanlines: Buffer): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([ Buffer.from(type, 'latin1'), data ]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([ len, body, crc ]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([ 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a ]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(scanlines)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A tiny real PNG (grey levels from `seed`), as getwxacodeunlimit answers an image. */
export function pngFor(seed: string, side = 8): Buffer {
  const digest = crypto.createHash('sha256').update(seed).digest();
  const raw = Buffer.alloc(side * (side + 1));
  for (let y = 0; y < side; y++) {
    raw[y * (side + 1)] = 0; // filter: none
    for (let x = 0; x < side; x++) raw[y * (side + 1) + 1 + x] = digest[(y * side + x) % digest.length];
  }
  return pngFile(side, side, 0, raw);
}

/** What getwxacodeunlimit accepts in `scene`: 32 visible characters of these. */
const SCENE = /^[A-Za-z0-9!#$&'()*+,/:;=?@\-._~]{1,32}$/;
const PAGE = /^[A-Za-z0-9_\-/]+$/;

export class GatewayDouble {
  /** appid:openid:template -> one-time sends the user accepted (wx.requestSubscribeMessage). */
  private readonly accepted = new Map<string, number>();
  /** Every subscribe message sent. */
  readonly sent: { appid: string; touser: string; template_id: string; data: unknown; page?: string }[] = [];
  /** Templates of each app (a send with another template_id is 40037). */
  readonly templates = new Set<string>([ 'TPL_order_shipped', 'TPL_order_paid', 'TPL_reminder' ]);
  /** Pages the apps have (`check_path` true refuses others with 41030). */
  readonly pages = new Set<string>([ 'pages/index/index', 'pages/order/detail', 'pages/poster/index' ]);

  constructor(private readonly error: (errcode: number) => Answer) {}

  /** The user tapped "allow" for `template` once: one send allowed. */
  acceptSubscription(appid: string, openid: string, template: string, times = 1): void {
    const key = `${appid}:${openid}:${template}`;
    this.accepted.set(key, (this.accepted.get(key) ?? 0) + times);
  }

  /** The user turned the template off in WeChat's settings: sends answer 43101. */
  rejectSubscription(appid: string, openid: string, template: string): void {
    this.accepted.delete(`${appid}:${openid}:${template}`);
  }

  subscribeSend(appid: string, knownOpenid: (openid: string) => boolean, body: Answer): Answer {
    const touser = String(body.touser ?? '');
    const template = String(body.template_id ?? '');
    if (!touser || !knownOpenid(touser)) return this.error(40003);
    if (!this.templates.has(template)) return this.error(40037);
    if (body.page !== undefined && (typeof body.page !== 'string' || body.page.length > 256)) return this.error(47003);
    if (body.miniprogram_state !== undefined && ![ 'developer', 'trial', 'formal' ].includes(String(body.miniprogram_state))) return this.error(47003);
    const data = body.data;
    if (!data || typeof data !== 'object' || Array.isArray(data)) return this.error(47003);
    for (const [ key, entry ] of Object.entries(data as Record<string, unknown>)) {
      const value = (entry as { value?: unknown } | null)?.value;
      if (typeof value !== 'string' || !value) return { errcode: 47003, errmsg: `argument invalid! data.${key}.value invalid rid: ${crypto.randomBytes(4).toString('hex')}` };
      if (/^thing\d+$/.test(key) && [ ...value ].length > 20) return { errcode: 47003, errmsg: `argument invalid! data.${key}.value exceeds limit` };
    }
    const acceptKey = `${appid}:${touser}:${template}`;
    const left = this.accepted.get(acceptKey) ?? 0;
    if (left <= 0) return this.error(43101);
    this.accepted.set(acceptKey, left - 1);
    this.sent.push({ appid, touser, template_id: template, data, ...(typeof body.page === 'string' ? { page: body.page } : {}) });
    return { errcode: 0, errmsg: 'ok', msgid: Number(BigInt(Date.now()) * 1000n % 9_007_199_254_740_991n) + this.sent.length };
  }

  /** A PNG, or WeChat's JSON error (it answers JSON instead of an image on failure). */
  wxacodeUnlimit(body: Answer): Buffer | Answer {
    const scene = body.scene;
    if (typeof scene !== 'string' || !SCENE.test(scene)) return this.error(40169);
    const page = body.page;
    if (page !== undefined && (typeof page !== 'string' || !PAGE.test(page) || page.startsWith('/'))) return this.error(40159);
    const checkPath = body.check_path !== false;
    if (checkPath && typeof page === 'string' && !this.pages.has(page)) return this.error(41030);
    const width = body.width === undefined ? 430 : Number(body.width);
    if (!Number.isInteger(width) || width < 280 || width > 1280) return this.error(47003);
    return pngFor(JSON.stringify([ scene, page ?? '', width, body.env_version ?? 'release', body.auto_color ?? false, body.line_color ?? null, body.is_hyaline ?? false ]));
  }

  /** /wxa/generate_urllink: a link valid for at most 30 days. */
  generateUrllink(body: Answer): Answer {
    const path = body.path;
    if (path !== undefined && (typeof path !== 'string' || path.startsWith('/') || !PAGE.test(path) || !this.pages.has(path))) return this.error(40165);
    if (body.query !== undefined && (typeof body.query !== 'string' || body.query.length > 1024)) return this.error(40212);
    const now = Math.floor(Date.now() / 1000);
    const maxSeconds = 30 * 86_400;
    if (body.expire_type === 1) {
      const interval = Number(body.expire_interval);
      if (!Number.isInteger(interval) || interval < 1 || interval > 30) return this.error(85401);
    } else if (body.expire_time !== undefined) {
      const at = Number(body.expire_time);
      if (!Number.isInteger(at) || at <= now || at - now > maxSeconds) return this.error(85401);
    }
    return { errcode: 0, errmsg: 'ok', url_link: `https://wxaurl.cn/${crypto.randomBytes(6).toString('base64url')}` };
  }
}
