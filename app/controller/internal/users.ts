import { Controller } from 'egg';
import { BadRequestError } from '../../lib/errors';
import type { SupportActionBody } from '../../lib/openapi';
import type { UserQuery } from '../../service/account/support';

const OBJECT_ID = /^[0-9a-f]{24}$/;

/** Support and operators (INTERNAL_API_KEYS with `users:read` / `users:write`). */
export default class InternalUsersController extends Controller {
  private get uidParam(): string {
    const uid = String(this.ctx.params.uid);
    if (!OBJECT_ID.test(uid)) throw new BadRequestError('uid must be a user id (24 hex digits)');
    return uid;
  }

  private get reason(): string | undefined {
    return (this.ctx.request.body as SupportActionBody | undefined)?.reason;
  }

  /** GET /api/v1/internal/users/:uid */
  async show(): Promise<void> {
    this.ctx.body = await this.service.account.support.view(this.uidParam);
  }

  /** GET /api/v1/internal/users?openid=..[&appid=..] | phone=.. | unionid=.. */
  async find(): Promise<void> {
    const q = this.ctx.query as Record<string, string | undefined>;
    const named = ([ 'openid', 'phone', 'unionid' ] as const).filter(k => q[k]);
    if (named.length !== 1) throw new BadRequestError('Look a user up by exactly one of openid (with appid, optionally), phone or unionid');
    const query: UserQuery = { [named[0]]: String(q[named[0]]).slice(0, 128), ...(q.appid ? { appid: String(q.appid) } : {}) };
    const users = await this.service.account.support.find(query);
    this.ctx.body = { users };
  }

  /** GET /api/v1/internal/users/:uid/events?limit=&before= */
  async events(): Promise<void> {
    const uid = this.uidParam;
    const { limit: rawLimit, before } = this.ctx.query as Record<string, string | undefined>;
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new BadRequestError('limit must be an integer from 1 to 200');
    if (before !== undefined && !OBJECT_ID.test(before)) throw new BadRequestError('before must be an event id (from the previous page)');
    const events = await this.service.account.audit.trail(uid, limit, before);
    this.ctx.body = { events, next: events.length === limit ? events[events.length - 1].id : null };
  }

  /** POST /api/v1/internal/users/:uid/ban `{ reason? }` */
  async ban(): Promise<void> {
    this.ctx.body = await this.service.account.support.ban(this.uidParam, this.reason);
  }

  /** POST /api/v1/internal/users/:uid/unban `{ reason? }` */
  async unban(): Promise<void> {
    this.ctx.body = await this.service.account.support.unban(this.uidParam, this.reason);
  }

  /** POST /api/v1/internal/users/:uid/sessions/end `{ reason? }` */
  async endSessions(): Promise<void> {
    this.ctx.body = { ended: await this.service.account.support.endSessions(this.uidParam, this.reason) };
  }

  /** DELETE /api/v1/internal/users/:uid[?reason=] */
  async destroy(): Promise<void> {
    const reason = (this.ctx.query as Record<string, string | undefined>).reason;
    await this.service.account.support.delete(this.uidParam, reason?.slice(0, 500));
    this.ctx.status = 204;
  }
}
