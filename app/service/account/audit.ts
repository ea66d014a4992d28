import { Service } from 'egg';
import { Types } from 'mongoose';
import type { AuditType, IAuditEvent } from '../../model/audit_event';
import { maskAddress } from './session';

/** An event as the trail answers it: the stored event, with its id and time as strings and without its user. */
export type AuditView = Omit<IAuditEvent, '_id' | 'uid' | 'at'> & { id: string; at: string };

/** `13800138000` → `138****8000`: enough for support to recognise, not to call. */
export function maskPhone(phone: string): string {
  return phone.length > 7 ? `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}` : '****';
}

/**
 * The audit trail: what happened to a user's account, by whom (the user, WeChat, or an
 * internal key by name), from where. Recording never fails the request it describes (a lost
 * event is logged); the trail is kept AUDIT_RETENTION_DAYS.
 */
export default class AuditService extends Service {
  async record(type: AuditType, event: { uid?: Types.ObjectId | string; code?: string; reason?: string; detail?: Record<string, unknown>; actor?: string }): Promise<void> {
    const { ctx } = this;
    const actor = event.actor ?? (ctx.internalCaller ? `key:${ctx.internalCaller}` : 'user');
    const fromClient = actor === 'user';
    const doc: Partial<IAuditEvent> = {
      at: new Date(),
      type,
      actor,
      appid: ctx.wxAppid ?? this.config.wxmp.appid,
      ...(event.uid !== undefined && Types.ObjectId.isValid(event.uid) ? { uid: new Types.ObjectId(event.uid) } : {}),
      ...(event.code ? { code: event.code } : {}),
      ...(event.reason ? { reason: event.reason.slice(0, 500) } : {}),
      ...(event.detail ? { detail: event.detail } : {}),
      ...(fromClient ? { ip: maskAddress(ctx.ip), userAgent: (ctx.get('user-agent') || 'unknown').slice(0, 256) } : {}),
    };
    await ctx.models.AuditEvent.create(doc).catch((err: Error) => ctx.logger.error('[audit] could not record %s: %s', type, err.message));
  }

  /** One user's trail, newest first: at most `limit` events before the event id `before`. */
  async trail(uid: string, limit: number, before?: string): Promise<AuditView[]> {
    const filter: Record<string, unknown> = { uid: new Types.ObjectId(uid) };
    if (before) filter._id = { $lt: new Types.ObjectId(before) };
    const events = await this.ctx.models.AuditEvent.find(filter).sort({ _id: -1 }).limit(limit)
      .lean();
    return events.map(e => ({
      id: String(e._id), at: e.at.toISOString(), type: e.type, actor: e.actor,
      ...(e.appid ? { appid: e.appid } : {}), ...(e.code ? { code: e.code } : {}), ...(e.ip ? { ip: e.ip } : {}),
      ...(e.userAgent ? { userAgent: e.userAgent } : {}), ...(e.reason ? { reason: e.reason } : {}), ...(e.detail ? { detail: e.detail } : {}),
    }));
  }
}
