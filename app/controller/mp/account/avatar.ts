import { Controller } from 'egg';

/** Serves stored avatars (public: the URL is the user's avatarUrl, and WeChat fetches it). */
export default class AvatarController extends Controller {
  /** GET /api/v1/mp/account/avatar/:id */
  async show(): Promise<void> {
    const { ctx } = this;
    const avatar = await this.service.account.avatar.find(String(ctx.params.id));
    ctx.set('ETag', avatar.etag);
    // Kept for good only once WeChat's media check passed it: until then a cache must ask
    // again each time (ETag: 304), so a rejected avatar stops being shown everywhere.
    ctx.set('Cache-Control', avatar.approved ? 'public, max-age=31536000, immutable' : 'no-cache');
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
