import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import sharp from 'sharp';
import { pngFile } from '../../../../../sandbox/wechat/gateway';
import { listen, MiniProgram } from '../../../../helpers/client';
import { pushTargetOf, until, wechat } from '../../../../helpers/sandbox';

const PROFILE = '/api/v1/mp/account/user/profile';
const AVATAR = '/api/v1/mp/account/user/avatar';
const INFO = '/api/v1/mp/account/user/info';

/** A JPEG as a phone camera makes it: large, with EXIF (a GPS position included). */
function cameraJpeg(width = 1200, height = 900): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 40 } } })
    .withExifMerge({ IFD0: { Make: 'PhoneCam', Model: 'X1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '22/1 32/1 0/1' } })
    .jpeg()
    .toBuffer();
}

/** A valid PNG header claiming width×height, with a tiny body: a decompression bomb's shape. */
function pngClaiming(width: number, height: number): Buffer {
  return pngFile(width, height, 2, Buffer.alloc(64)); // RGB
}

describe('test/app/controller/mp/account/profile.test.ts (nickname, avatar, account deletion)', () => {
  let server: { url: string; close: () => Promise<void> };
  const ctx = () => app.mockContext();
  const db = () => ctx().models.Account.User.db;
  const bucketFiles = () => db().collection('avatars.files');
  const bucketChunks = () => db().collection('avatars.chunks');

  before(async () => {
    server = await listen(app);
  });
  after(() => server.close());
  beforeEach(() => {
    mm(app.config.avatar, 'publicBaseUrl', server.url);
    wechat().setPushTarget(app.config.wxmp.appid, pushTargetOf(app, server.url));
  });
  afterEach(async () => {
    await wechat().security.settled();
    const c = ctx();
    for (const model of [ c.models.Account.User, c.models.Basics.User.User, c.models.MediaCheck, c.models.PushEvent, c.models.RateLimit ]) await (model as { deleteMany(f: object): Promise<unknown> }).deleteMany({});
    await bucketFiles().deleteMany({});
    await bucketChunks().deleteMany({});
    wechat().setPushTarget(app.config.wxmp.appid, undefined);
    wechat().security.mediaVerdicts.length = 0;
  });

  const post = (path: string, token: string, body: object) => app.httpRequest().post(path).set('authorization', `Bearer ${token}`)
    .send(body);
  const upload = (token: string, bytes: Buffer, name = 'tmp_avatar.jpg', field = 'avatar') => app.httpRequest().post(AVATAR).set('authorization', `Bearer ${token}`)
    .attach(field, bytes, name);
  /** GET of a served avatar, its body kept as bytes. */
  const download = (path: string) => app.httpRequest().get(path).buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });

  describe('POST /user/profile', () => {
    it('stores a checked nickname (trimmed) and the fields, makes the user isWXAuth, answers like info', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      wechat().resetCounts();
      const res = await post(PROFILE, token, { nickName: '  小明  ', gender: 1, city: 'Shenzhen' }).expect(200);
      assert.equal(res.body.isWXAuth, true);
      assert.equal(res.body.userInfo.nickName, '小明');
      assert.equal(res.body.userInfo.city, 'Shenzhen');
      assert.equal(wechat().count('/wxa/msg_sec_check'), 1);
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.deepEqual(info.body, res.body);
    });

    it('a risky nickname is 422 CONTENT_RISKY with the label, nothing stored; review is stored', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      await post(PROFILE, token, { nickName: 'first' }).expect(200);
      const risky = await post(PROFILE, token, { nickName: '我有违禁词', city: 'Nowhere' }).expect(422);
      assert.equal(risky.body.code, 'CONTENT_RISKY');
      assert.match(risky.body.message, /label \d+/);
      const stored = await ctx().models.Account.User.findOne({ openId: mp.openid }).lean();
      assert.equal(stored?.wxUserInfo?.nickName, 'first');
      assert.equal(stored?.wxUserInfo?.city, undefined, 'nothing of the refused request stored');
      app.mockLog();
      await post(PROFILE, token, { nickName: 'has review-word' }).expect(200);
      app.expectLog(/nickname of \w+ needs review/);
    });

    it('refuses blank, too long, control characters and a bad gender; 401 without a token', async () => {
      const { token } = await new MiniProgram(app).login();
      for (const body of [{ nickName: '   ' }, { nickName: 'x'.repeat(33) }, { nickName: 'a\u0007b' }, { gender: 5 }, { nickName: 42 }, { city: { $ne: 1 } }]) {
        const res = await post(PROFILE, token, body).expect(400);
        assert.equal(res.body.code, 'INVALID_PARAM', JSON.stringify(body));
      }
      await app.httpRequest().post(PROFILE).send({ nickName: 'x' })
        .expect(401);
    });

    it('an empty body or an unknown field (a misspelt nickname) is a 400 naming the fields, and the user stays not isWXAuth', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      const empty = await post(PROFILE, token, {}).expect(400);
      assert.deepEqual(empty.body, { code: 'INVALID_PARAM', message: 'Request body must be an object with at least one of nickName, gender, city, province, country, language' });
      const typo = await post(PROFILE, token, { nickname: 'typo' }).expect(400);
      assert.deepEqual(typo.body, { code: 'INVALID_PARAM', message: 'nickname is not a field of this request (its fields: nickName, gender, city, province, country, language)' });
      await post(PROFILE, token, { nickName: 'ok', avatarUrl: 'wxfile://tmp_1.jpg' }).expect(400);
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(info.body.isWXAuth, false);
      assert.equal(info.body.userInfo.nickName, undefined);
    });

    it('refuses names that read backwards or show nothing, names the field, keeps what was stored; emoji and scripts pass', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      await post(PROFILE, token, { nickName: 'first', city: 'Shenzhen' }).expect(200);
      const refused: [object, RegExp][] = [
        [{ nickName: 'admin\u202Egnp.exe' }, /nickName/ ], // right-to-left override
        [{ nickName: 'a\u2066b\u2069' }, /nickName/ ], // isolate
        [{ nickName: 'a\u200Fb' }, /nickName/ ], // right-to-left mark
        [{ nickName: '\u200B' }, /nickName/ ], // zero-width space
        [{ nickName: '\u3164\u3164' }, /nickName/ ], // Hangul filler: the classic invisible name
        [{ nickName: 'a\u0085b' }, /nickName/ ], // C1 control (next line)
        [{ nickName: '\u200D\uFE0F' }, /nickName.*blank/ ], // a joiner and a variation selector alone
        [{ nickName: ' \u0301 ' }, /nickName.*blank/ ], // a combining mark alone
        [{ nickName: '\u2800' }, /nickName.*blank/ ], // a blank Braille cell
        [{ nickName: 'ok', city: 'Shen\u202Ezhen' }, /city/ ],
        // the invisible and format characters of issue #20: each makes "Alice" a second, identical-looking name
        ...[ '\u00AD', '\u034F', '\u061C', '\u180E', '\u17B4', '\u206A', '\u206F', '\uFFF9', '\u{E0041}', '\u{E007F}', '\u2028', '\u2029', '\uE000', '\u{10FFFD}', '\u0378' ]
          .map(c => [{ nickName: `Alice${c}` }, /nickName/ ] as [object, RegExp]),
        [{ nickName: 'ok', country: 'Chi\u00ADna' }, /country/ ],
        [{ nickName: 'risky\u00AD-word' }, /nickName/ ], // a soft hyphen slipping a risky word past the check
      ];
      for (const [ body, message ] of refused) {
        const res = await post(PROFILE, token, body).expect(400);
        assert.equal(res.body.code, 'INVALID_PARAM', JSON.stringify(body));
        assert.match(res.body.message, message, JSON.stringify(body));
      }
      const stored = await ctx().models.Account.User.findOne({ openId: mp.openid }).lean();
      assert.equal(stored?.wxUserInfo?.nickName, 'first');
      assert.equal(stored?.wxUserInfo?.city, 'Shenzhen');
      for (const nickName of [ '👨\u200D👩\u200D👧', '❤\uFE0F', 'می\u200Cخواهم', 'Zoë', '小明 ·_·' ]) {
        const res = await post(PROFILE, token, { nickName }).expect(200);
        assert.equal(res.body.userInfo.nickName, nickName);
      }
      // NFKC before the content check: a full-width risky word is the risky word
      const fullWidth = await post(PROFILE, token, { nickName: 'ｒｉｓｋｙ-ｗｏｒｄ' }).expect(422);
      assert.equal(fullWidth.body.code, 'CONTENT_RISKY');
      const ligature = await post(PROFILE, token, { nickName: 'ﬁne', city: 'Ｓｈｅｎｚｈｅｎ' }).expect(200);
      assert.deepEqual([ ligature.body.userInfo.nickName, ligature.body.userInfo.city ], [ 'fine', 'Shenzhen' ]);
    });
  });

  describe('POST /user/avatar', () => {
    it('re-encodes to at most 640×640 without EXIF, stores it, serves it with a strong ETag, immutable caching, nosniff and 304', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      const original = await cameraJpeg();
      assert.ok((await sharp(original).metadata()).exif, 'the upload carries EXIF');
      const res = await upload(token, original).expect(200);
      const avatarUrl: string = res.body.avatarUrl;
      assert.ok(avatarUrl.startsWith(`${server.url}/api/v1/mp/account/avatar/`));
      assert.match(avatarUrl, /\/avatar\/[A-Za-z0-9_-]{22}$/, 'a random id of 128 bits, not a guessable ObjectId');
      await wechat().security.settled(); // the verdict (pass): only now may caches keep it for good
      const path = new URL(avatarUrl).pathname;
      const served = await download(path).expect(200);
      assert.equal(served.headers['content-type'], 'image/jpeg');
      assert.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(served.headers['x-content-type-options'], 'nosniff');
      assert.match(served.headers.etag, /^"[0-9a-f]{64}"$/);
      const meta = await sharp(served.body as Buffer).metadata();
      assert.equal(meta.exif, undefined, 'no EXIF (GPS) in what is served');
      assert.ok(meta.width && meta.height && Math.max(meta.width, meta.height) <= 640, `${meta.width}×${meta.height}`);
      assert.equal(meta.width, 640);
      await app.httpRequest().get(path).set('if-none-match', served.headers.etag)
        .expect(304);
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(info.body.userInfo.avatarUrl, avatarUrl);
      assert.equal(info.body.isWXAuth, true);
      // The media check was started on that public URL.
      const check = await ctx().models.MediaCheck.findOne({ openid: mp.openid }).lean();
      assert.equal(check?.mediaUrl, avatarUrl);
    });

    it('a new upload replaces the previous one once it passes (then deletes it); PNG and WebP are accepted', async () => {
      const { token } = await new MiniProgram(app).login();
      const first = await upload(token, await cameraJpeg(300, 300)).expect(200);
      await wechat().security.settled();
      const png = await sharp({ create: { width: 100, height: 80, channels: 4, background: '#00ff0080' } }).png().toBuffer();
      const second = await upload(token, png, 'x.bin').expect(200);
      await wechat().security.settled();
      await until(async () => (await app.httpRequest().get(new URL(first.body.avatarUrl).pathname)).status === 404, 3000, 'the first to be deleted once the second passed');
      assert.equal((await app.httpRequest().get(new URL(second.body.avatarUrl).pathname).expect(200)).headers['content-type'], 'image/png');
      const webp = await sharp({ create: { width: 50, height: 50, channels: 3, background: 'blue' } }).webp().toBuffer();
      await upload(token, webp, 'named.jpg').expect(200);
      await wechat().security.settled();
      await until(async () => (await bucketFiles().countDocuments()) === 1, 3000, 'one file left');
    });

    it('until WeChat\'s verdict passes, an avatar is served no-cache (then immutable); the approved one before it is kept meanwhile', async () => {
      const { token } = await new MiniProgram(app).login();
      const first = await upload(token, await cameraJpeg(100, 100)).expect(200);
      await wechat().security.settled();
      const { appid } = app.config.wxmp;
      const target = wechat().security.pushTargets.get(appid)!;
      wechat().setPushTarget(appid, undefined); // the verdict on the next one is not pushed yet
      const second = await upload(token, await cameraJpeg(120, 120)).expect(200);
      await wechat().security.settled();
      const pending = await app.httpRequest().get(new URL(second.body.avatarUrl).pathname).expect(200);
      assert.equal(pending.headers['cache-control'], 'no-cache');
      await app.httpRequest().get(new URL(second.body.avatarUrl).pathname).set('if-none-match', pending.headers.etag)
        .expect(304);
      assert.equal((await app.httpRequest().get(new URL(first.body.avatarUrl).pathname).expect(200)).headers['cache-control'], 'public, max-age=31536000, immutable');
      wechat().setPushTarget(appid, target);
      const third = await upload(token, await cameraJpeg(140, 140)).expect(200);
      await wechat().security.settled();
      await until(async () => (await app.httpRequest().get(new URL(third.body.avatarUrl).pathname)).headers['cache-control'] === 'public, max-age=31536000, immutable', 3000, 'immutable once passed');
    });

    it('a new avatar rejected by WeChat: the previous approved one comes back to the profile', async () => {
      const { token } = await new MiniProgram(app).login();
      const first = await upload(token, await cameraJpeg(100, 100)).expect(200);
      await wechat().security.settled();
      wechat().security.mediaVerdicts.push({ suggest: 'risky', label: 20002 });
      const second = await upload(token, await cameraJpeg(120, 120)).expect(200);
      await wechat().security.settled();
      await until(async () => (await app.httpRequest().get(new URL(second.body.avatarUrl).pathname)).status === 404, 3000, 'the risky one withdrawn');
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(info.body.userInfo.avatarUrl, first.body.avatarUrl);
      await app.httpRequest().get(new URL(first.body.avatarUrl).pathname).expect(200);
    });

    it('two uploads at once by one user: one is 409 UPLOAD_IN_PROGRESS, the profile points at a stored file', async () => {
      for (let round = 0; round < 3; round++) {
        const { token } = await new MiniProgram(app).login();
        const image = await cameraJpeg(800, 800);
        const send = () => {
          const form = new FormData();
          form.append('avatar', new Blob([ new Uint8Array(image) ]), 'tmp.jpg');
          return fetch(`${server.url}${AVATAR}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form })
            .then(async r => ({ status: r.status, body: await r.json() as { code?: string } }));
        };
        const answers = await Promise.all([ send(), send() ]);
        const statuses = answers.map(a => a.status).sort();
        assert.ok(statuses.includes(200), JSON.stringify(answers));
        for (const a of answers) if (a.status !== 200) assert.deepEqual([ a.status, a.body.code ], [ 409, 'UPLOAD_IN_PROGRESS' ]);
        await wechat().security.settled();
        const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
          .expect(200);
        await app.httpRequest().get(new URL(info.body.userInfo.avatarUrl).pathname).expect(200);
        await upload(token, await cameraJpeg(60, 60)).expect(200); // the lock is released
      }
    });

    it('an avatar stored by the previous release (an ObjectId id) is still served', async () => {
      const { Types, mongo } = await import('mongoose');
      const id = new Types.ObjectId();
      const bytes = await cameraJpeg(64, 64);
      await new Promise<void>((resolve, reject) => {
        const up = new mongo.GridFSBucket(db().db!, { bucketName: 'avatars' }).openUploadStreamWithId(id, 'u.jpeg', { metadata: { uid: 'u', contentType: 'image/jpeg', sha256: 'ab'.repeat(32), check: 'pass' } });
        up.once('finish', () => resolve());
        up.once('error', reject);
        up.end(bytes);
      });
      const res = await app.httpRequest().get(`/api/v1/mp/account/avatar/${id.toString()}`).expect(200);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    });

    it('an avatar whose EXIF says "rotate 90°" is stored upright', async () => {
      const { token } = await new MiniProgram(app).login();
      // 200 wide × 100 high as stored, Orientation 6: shown 100 wide × 200 high
      const sideways = await sharp({ create: { width: 200, height: 100, channels: 3, background: 'red' } }).withMetadata({ orientation: 6 }).jpeg()
        .toBuffer();
      const res = await upload(token, sideways).expect(200);
      const served = await download(new URL(res.body.avatarUrl).pathname).expect(200);
      const meta = await sharp(served.body as Buffer).metadata();
      assert.deepEqual([ meta.width, meta.height, meta.orientation ], [ 100, 200, undefined ]);
    });

    it('media_check_async failing: 502, the stored image is deleted again, the profile unchanged', async () => {
      const { token } = await new MiniProgram(app).login();
      wechat().inject({ path: '/wxa/media_check_async', kind: 'errcode', errcode: 45009, times: 1 });
      const res = await upload(token, await cameraJpeg(100, 100));
      assert.ok(res.status >= 400, res.text);
      assert.equal(await bucketFiles().countDocuments(), 0, 'no orphan file');
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(info.body.userInfo.avatarUrl, undefined);
    });

    it('an upload interrupted by the account\'s deletion leaves nothing: no file, no check with the openid', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      wechat().resetCounts();
      wechat().inject({ path: '/wxa/media_check_async', kind: 'latency', ms: 400, times: 1 });
      const uploading = upload(token, await cameraJpeg(100, 100));
      const pending = uploading.then(r => r);
      await until(() => wechat().count('/wxa/media_check_async') >= 1, 3000, 'the upload to reach the media check');
      await app.httpRequest().delete('/api/v1/mp/account/user').set('authorization', `Bearer ${token}`)
        .expect(204);
      const res = await pending;
      assert.equal(res.status, 401, res.text);
      await wechat().security.settled();
      await until(async () => (await bucketFiles().countDocuments()) === 0, 3000, 'no file left');
      assert.equal(await ctx().models.MediaCheck.countDocuments({ openid: mp.openid }), 0);
    });

    it('a verdict for a check nobody recorded stores no openid; wx_media_checks has a TTL', async () => {
      const { appid } = app.config.wxmp;
      const target = wechat().security.pushTargets.get(appid)!;
      const trace = `orphan-${Date.now()}`;
      await wechat().security.push(appid, target, {
        ToUserName: 'gh_sandbox0000001', FromUserName: 'o_deleted_user', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event',
        Event: 'wxa_media_check', appid, trace_id: trace, version: 2, errcode: 0, errmsg: 'ok', result: { suggest: 'pass', label: 100 },
      });
      await until(async () => !!(await ctx().models.MediaCheck.findById(trace).lean()), 3000, 'the verdict recorded');
      const record = await ctx().models.MediaCheck.findById(trace).lean();
      assert.equal(record?.openid, undefined);
      const indexes = await ctx().models.MediaCheck.collection.indexes();
      assert.ok(indexes.some(i => i.key.createdAt === 1 && typeof i.expireAfterSeconds === 'number' && i.expireAfterSeconds > 0), JSON.stringify(indexes));
    });

    it('the per-user limit holds on the avatar route too', async () => {
      mm(app.config.rateLimit, 'userPerMinute', 2);
      const { token } = await new MiniProgram(app).login();
      await upload(token, await cameraJpeg(50, 50)).expect(200);
      await wechat().security.settled();
      await upload(token, await cameraJpeg(50, 50)).expect(200);
      await wechat().security.settled();
      const res = await upload(token, await cameraJpeg(50, 50)).expect(429);
      assert.equal(res.body.code, 'RATE_LIMITED');
    });

    for (const [ label, width, height ] of [[ 'a strip of 1 × 25,000,000 pixels', 1, 25_000_000 ], [ 'a side over 4096 pixels', 5000, 3000 ], [ 'a shape longer than 4:1', 4000, 900 ]] as const) {
      it(`refuses ${label} from its header, before decoding: 400 INVALID_IMAGE`, async () => {
        const { token } = await new MiniProgram(app).login();
        const started = Date.now();
        const res = await upload(token, pngClaiming(width, height)).expect(400);
        assert.equal(res.body.code, 'INVALID_IMAGE');
        assert.match(res.body.message, new RegExp(`${width}×${height}`));
        assert.ok(Date.now() - started < 1000, 'answered without decoding');
        assert.equal(await bucketFiles().countDocuments(), 0);
      });
    }

    for (const [ label, make, status, code ] of [
      [ 'a text file named .jpg', async () => Buffer.from('not an image at all'), 400, 'INVALID_IMAGE' ],
      [ 'a 3 MiB file', async () => Buffer.concat([ Buffer.from([ 0xff, 0xd8, 0xff ]), Buffer.alloc(3 * 1024 * 1024) ]), 413, 'PAYLOAD_TOO_LARGE' ],
      [ 'a PNG claiming 40000×40000', async () => pngClaiming(40000, 40000), 400, 'INVALID_IMAGE' ],
      [ 'a truncated JPEG', async () => (await cameraJpeg(200, 200)).subarray(0, 300), 400, 'INVALID_IMAGE' ],
    ] as const) {
      it(`refuses ${label}: ${status} ${code}, nothing stored`, async () => {
        const { token } = await new MiniProgram(app).login();
        const res = await upload(token, await make());
        assert.equal(res.status, status, res.text);
        assert.equal(res.body.code, code);
        if (status === 413) assert.equal(res.body.message, 'The image is larger than 2048 KiB');
        if (label.includes('40000')) assert.match(res.body.message, /40000×40000; at most 25 megapixels/, 'refused from the header, before decoding');
        assert.equal(await bucketFiles().countDocuments(), 0);
      });
    }

    it('the image in another field, or not multipart: 400 / 415', async () => {
      const { token } = await new MiniProgram(app).login();
      assert.equal((await upload(token, await cameraJpeg(50, 50), 'a.jpg', 'file').expect(400)).body.code, 'INVALID_PARAM');
      assert.equal((await post(AVATAR, token, { avatar: 'x' }).expect(415)).body.code, 'UNSUPPORTED_MEDIA_TYPE');
      const noFile = await app.httpRequest().post(AVATAR).set('authorization', `Bearer ${token}`)
        .field('name', 'value')
        .expect(400);
      assert.deepEqual(noFile.body, { code: 'INVALID_PARAM', message: 'The image must be sent in the field "avatar"' });
    });

    it('without PUBLIC_BASE_URL: 503 NOT_CONFIGURED', async () => {
      mm(app.config.avatar, 'publicBaseUrl', '');
      const { token } = await new MiniProgram(app).login();
      assert.equal((await upload(token, await cameraJpeg(50, 50)).expect(503)).body.code, 'NOT_CONFIGURED');
    });

    it('a risky verdict pushed back by WeChat: the image is no longer served and leaves the profile', async () => {
      const { token } = await new MiniProgram(app).login();
      wechat().security.mediaVerdicts.push({ suggest: 'risky', label: 20002 });
      const res = await upload(token, await cameraJpeg(100, 100)).expect(200);
      await wechat().security.settled();
      const path = new URL(res.body.avatarUrl).pathname;
      await until(async () => (await app.httpRequest().get(path)).status === 404, 3000, 'the image to be withdrawn');
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(info.body.userInfo.avatarUrl, undefined);
      await upload(token, await cameraJpeg(100, 100)).expect(200); // may upload another
    });

    it('a risky verdict pushed before media_check_async answered (WeChat does not order the two) still withdraws the image', async () => {
      const mp = new MiniProgram(app);
      const { token } = await mp.login();
      const { appid } = app.config.wxmp;
      const target = wechat().security.pushTargets.get(appid)!;
      // The verdict for the trace_id the check is about to get, delivered through the push URL
      // first; the double's own push (after its answer) is held back.
      const trace = `early-${Date.now()}`;
      wechat().security.mediaTraceIds.push(trace);
      const pushed = await wechat().security.push(appid, target, {
        ToUserName: 'gh_sandbox0000001', FromUserName: mp.openid, CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event',
        Event: 'wxa_media_check', appid, trace_id: trace, version: 2, errcode: 0, errmsg: 'ok', result: { suggest: 'risky', label: 20002 },
      });
      assert.equal(pushed.delivered, true);
      await until(async () => (await ctx().models.MediaCheck.findById(trace).lean())?.status === 'risky', 3000, 'the early verdict to be recorded');
      wechat().setPushTarget(appid, undefined);
      const res = await upload(token, await cameraJpeg(100, 100)).expect(200);
      await app.httpRequest().get(new URL(res.body.avatarUrl).pathname).expect(404);
      const info = await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(200);
      assert.equal(info.body.userInfo.avatarUrl, undefined);
      assert.equal(await bucketFiles().countDocuments(), 0);
    });

    it('20 concurrent uploads by 20 users: one decode at a time per worker, a full queue answers 503 BUSY with Retry-After, retried they succeed', async function() {
      this.timeout(30_000);
      const users: string[] = [];
      for (let i = 0; i < 20; i++) users.push((await new MiniProgram(app).login()).token);
      const image = await cameraJpeg(800, 800);
      const send = async (token: string) => {
        const form = new FormData();
        form.append('avatar', new Blob([ new Uint8Array(image) ]), 'tmp.jpg');
        const r = await fetch(`${server.url}${AVATAR}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
        return { status: r.status, retryAfter: r.headers.get('retry-after'), code: ((await r.json()) as { code?: string }).code };
      };
      const answers = await Promise.all(users.map(send));
      const busy = answers.filter(a => a.status === 503);
      assert.ok(busy.length > 0, 'the queue filled');
      for (const a of answers) assert.ok(a.status === 200 || (a.code === 'BUSY' && a.retryAfter === '2'), JSON.stringify(a));
      for (const [ i, a ] of answers.entries()) {
        if (a.status === 200) continue;
        let again = await send(users[i]);
        while (again.status === 503) again = await send(users[i]);
        assert.equal(again.status, 200);
      }
      await wechat().security.settled();
      assert.equal(await bucketFiles().countDocuments(), 20);
    });
  });

  describe('DELETE /user', () => {
    it('deletes the user and everything of theirs, frees the phone, keeps the platform user without their link', async () => {
      const mp = new MiniProgram(app);
      const { token, userInfo } = await mp.login(true);
      await post('/api/v1/mp/account/user/bindPhone', token, { code: wechat().issuePhoneCode(mp.appid, '13866660000') }).expect(200);
      await upload(token, await cameraJpeg(100, 100)).expect(200);
      await wechat().security.settled();
      await until(async () => (await ctx().models.PushEvent.countDocuments({ fromUser: mp.openid })) === 1, 3000, 'the verdict');
      await app.httpRequest().delete('/api/v1/mp/account/user').set('authorization', `Bearer ${token}`)
        .expect(204);

      // Every collection and bucket, checked for anything of this user.
      const c = ctx();
      assert.equal(await c.models.Account.User.countDocuments({ $or: [{ openId: mp.openid }, { _id: userInfo.uid }] }), 0, 'users');
      assert.equal(await c.models.MediaCheck.countDocuments({ openid: mp.openid }), 0, 'wx_media_checks');
      assert.equal(await c.models.PushEvent.countDocuments({ fromUser: mp.openid }), 0, 'wx_push_events');
      assert.equal(await c.models.RateLimit.countDocuments({ key: `user:${userInfo.uid}` }), 0, 'rate_limits');
      assert.equal(await bucketFiles().countDocuments({ 'metadata.uid': userInfo.uid }), 0, 'avatars.files');
      assert.equal(await bucketChunks().countDocuments(), 0, 'avatars.chunks');
      const basic = await c.models.Basics.User.User.findOne({ phone: '13866660000' }).lean();
      assert.ok(basic, 'the platform user stays (other apps may use it)');
      assert.equal(basic.wx_openId, undefined);
      assert.equal(basic.wx_unionid, undefined);
      assert.equal(basic.wx_UserInfo, undefined);
      const names = (await db().db?.listCollections().toArray() ?? []).map((x: { name: string }) => x.name);
      assert.ok(names.length >= 8, `collections: ${names}`);
      for (const name of names) {
        const hits = await db().collection(name).countDocuments({ $or: [{ openId: mp.openid }, { openid: mp.openid }, { fromUser: mp.openid }, { wx_openId: mp.openid }] });
        assert.equal(hits, 0, `${name} holds nothing of the user`);
      }

      assert.equal((await app.httpRequest().get(INFO).set('authorization', `Bearer ${token}`)
        .expect(401)).body.code, 'USER_NOT_FOUND');
      const other = new MiniProgram(app);
      const { token: otherToken } = await other.login();
      await post('/api/v1/mp/account/user/bindPhone', otherToken, { code: wechat().issuePhoneCode(mp.appid, '13866660000') }).expect(200);
      const again = await mp.login();
      assert.notEqual(again.userInfo.uid, userInfo.uid, 'a fresh user');
      assert.equal(again.isWXAuth, false);
      assert.equal(again.userInfo.telphone, null);
    });
  });
});
