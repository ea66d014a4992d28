import type { Application } from 'egg';
import type { Model, Types } from 'mongoose';
import { mpConnection } from '../lib/db';

/** What happened (one word per kind of event, stable: support tools filter on it). */
export type AuditType =
  | 'login' | 'login_refused'
  | 'phone_bound' | 'phone_released'
  | 'profile_updated' | 'avatar_uploaded' | 'avatar_checked'
  | 'session_ended' | 'account_deleted'
  | 'user_banned' | 'user_unbanned' | 'sessions_ended_by_support'
  | 'wechat_revoke' | 'wechat_profile_cleaned';

/**
 * One event of a user's audit trail (support's answer to "what happened to my account").
 * Never a secret, a code, a session_key or a token: who, what, when, from where, the outcome.
 */
export interface IAuditEvent {
  _id: Types.ObjectId;
  /** The user; absent for a refused login of no known user. */
  uid?: Types.ObjectId;
  at: Date;
  type: AuditType;
  /** `user` (the mini-program), `wechat` (a pushed event) or `key:<name>` (the internal API). */
  actor: string;
  appid?: string;
  /** The error code of a refusal. */
  code?: string;
  /** Client address, masked to /24 or /48 like the session list. */
  ip?: string;
  userAgent?: string;
  reason?: string;
  /** A few words more: the fields changed, the content check's verdict, a masked number. */
  detail?: Record<string, unknown>;
}

export type AuditEventModel = Model<IAuditEvent>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IAuditEvent, AuditEventModel>({
    uid: Schema.Types.ObjectId,
    at: { type: Date, required: true },
    type: { type: String, required: true },
    actor: { type: String, required: true },
    appid: String,
    code: String,
    ip: String,
    userAgent: String,
    reason: String,
    detail: Schema.Types.Mixed,
  }, { versionKey: false });
  // One user's trail, newest first (the _id orders events of one millisecond).
  schema.index({ uid: 1, _id: -1 });
  schema.index({ at: 1 }, { expireAfterSeconds: app.config.internal.auditRetentionDays * 86_400 });
  return mpConnection(app).model<IAuditEvent, AuditEventModel>('audit_event', schema, 'audit_events');
};
