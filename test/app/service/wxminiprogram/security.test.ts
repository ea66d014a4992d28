import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { WeChatError } from '../../../../app/lib/errors';
import { listen, MiniProgram } from '../../../helpers/client';
import { until, wechat } from '../../../helpers/sandbox';

describe('test/app/service/wxminiprogram/security.test.ts (content security v2)', () => {
  let server: { url: string; close: () => Promise<void> };
  const security = () => app.mockContext().service.wxminiprogram.security;

  before(async () => {
    server = await listen(app);
  });
  after(() => server.close());
  afterEach(async () => {
    const ctx = app.mockContext();
    await ctx.models.PushEvent.deleteMany({});
    await ctx.models.MediaCheck.deleteMany({});
    await ctx.models.Account.User.deleteMany({});
    wechat().setPushTarget(app.config.wxmp.appid, undefined);
  });

  /** A user who opened the mini-program just now (WeChat checks content only for recent visitors). */
  async function activeUser(): Promise<MiniProgram> {
    const mp = new MiniProgram(app);
    await mp.login();
    return mp;
  }

  describe('msgSecCheck', () => {
    it('pass, review and risky are verdicts (data), with label and trace_id', async () => {
      const mp = await activeUser();
      const check = (content: string) => security().msgSecCheck({ openid: mp.openid, scene: 1, content, nickname: content });
      const pass = await check('一个普通的昵称');
      assert.equal(pass.suggest, 'pass');
      assert.equal(pass.label, 100);
      assert.match(pass.trace_id, /\S+/);
      assert.equal((await check('has a review-word in it')).suggest, 'review');
      const risky = await check('有违禁词的昵称');
      assert.equal(risky.suggest, 'risky');
      assert.notEqual(risky.label, 100);
    });

    it('errcodes become typed errors: 40003 unknown openid, 61010 user not active, 40129 scene', async () => {
      const expectError = async (p: Promise<unknown>, errcode: number, code: string, status: number) => {
        await assert.rejects(p, (err: WeChatError) => {
          assert.ok(err instanceof WeChatError);
          assert.equal(err.errcode, errcode);
          assert.equal(err.code, code);
          assert.equal(err.status, status);
          return true;
        });
      };
      await expectError(security().msgSecCheck({ openid: 'o_never_seen', scene: 1, content: 'x' }), 40003, 'WECHAT_INVALID_OPENID', 400);
      const idle = new MiniProgram(app);
      idle.loginCode(); // WeChat knows the user, who has not opened the mini-program lately
      await expectError(security().msgSecCheck({ openid: idle.openid, scene: 1, content: 'x' }), 61010, 'WECHAT_USER_INACTIVE', 409);
      const mp = await activeUser();
      await expectError(security().msgSecCheck({ openid: mp.openid, scene: 9 as 1, content: 'x' }), 40129, 'WECHAT_BAD_REQUEST', 502);
    });

    it('goes through withAccessToken: a rejected token is refreshed once and the call retried', async () => {
      const mp = await activeUser();
      await app.runSchedule('token_refresh');
      app.wxToken = 'AT_revoked_elsewhere';
      app.wxTokenInfo = { updateTime: new Date(), expiresAt: Date.now() + 3600_000 };
      await app.mockContext().models.Auth.updateOne({}, { $set: { access_token: 'AT_revoked_elsewhere' } });
      wechat().resetCounts();
      assert.equal((await security().msgSecCheck({ openid: mp.openid, scene: 1, content: 'ok' })).suggest, 'pass');
      assert.equal(wechat().count('/wxa/msg_sec_check'), 2);
      assert.equal(wechat().count('/cgi-bin/token'), 1);
    });
  });

  describe('mediaCheckAsync: the double fetches the media, judges it and pushes the verdict back', () => {
    const pushTo = (aes: boolean, format: 'json' | 'xml') => wechat().setPushTarget(app.config.wxmp.appid, {
      url: `${server.url}/api/v1/mp/wechat/push`, token: app.config.wxmp.push.token, aesKey: aes ? app.config.wxmp.push.aesKey : undefined, format,
    });

    for (const [ label, verdicts, expected ] of [
      [ 'pass', [], 'pass' ],
      [ 'risky', [{ suggest: 'risky', label: 20002 }], 'risky' ],
    ] as const) {
      it(`${label}: recorded pending, then the pushed verdict lands in wx_push_events and wx_media_checks`, async () => {
        const mp = await activeUser();
        pushTo(true, 'xml');
        wechat().security.mediaVerdicts.push(...verdicts);
        const mediaUrl = `${server.url}/docs/favicon-32x32.png`;
        const traceId = await security().mediaCheckAsync({ openid: mp.openid, scene: 1, mediaUrl, mediaType: 2, subject: { kind: 'avatar', id: 'a1' } });
        await wechat().security.settled();
        const ctx = app.mockContext();
        await until(async () => (await ctx.models.MediaCheck.findById(traceId).lean())?.status === expected, 3000, `status ${expected}`);
        const check = await ctx.models.MediaCheck.findById(traceId).lean();
        assert.deepEqual(check?.subject, { kind: 'avatar', id: 'a1' });
        assert.equal(check?.mediaUrl, mediaUrl);
        assert.equal(check?.openid, mp.openid);
        const event = await ctx.models.PushEvent.findOne({ event: 'wxa_media_check' }).lean();
        assert.equal((event?.message as { trace_id?: string }).trace_id, traceId);
        await until(async () => (await ctx.models.PushEvent.findById(event?._id).lean())?.status === 'handled', 2000, 'handled');
      });
    }

    it('an unreachable media URL is a review, never a pass', async () => {
      const mp = await activeUser();
      pushTo(false, 'json');
      mm(app.config.wxmp.push, 'aesKey', ''); // plaintext mode, JSON, this time
      const traceId = await security().mediaCheckAsync({ openid: mp.openid, scene: 1, mediaUrl: `${server.url}/no/such/image.png`, mediaType: 2, subject: { kind: 'avatar', id: 'a2' } });
      await wechat().security.settled();
      await until(async () => (await app.mockContext().models.MediaCheck.findById(traceId).lean())?.status === 'review', 3000, 'review');
    });
  });
});
