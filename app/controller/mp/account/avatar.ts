import { Controller } from 'egg';

/** Serves stored avatars (public: the URL is the user's avatarUrl, and WeChat fetches it). */
export default class AvatarController extends Controller {
  /** GET /api/v1/mp/account/avatar/:id */
  async show(): Promise<void> {
    const { ctx } = this;
    const avatar = await this.service.account.avatar.find(String(ctx.params.id));
    ctx.set('ETag', avatar.etag);
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (ctx.get('if-none-match').split(/\s*,\s*/).includes(avatar.etag)) {
      ctx.status = 304;
      return;
    }
    ctx.type = avatar.contentType;
    ctx.length = avatar.length;
    ctx.body = avatar.open();
  }
}
