import type { Application } from 'egg';
import type { Model, Types } from 'mongoose';
import { mpConnection } from '../lib/db';

/** Why a session ended. */
export type SessionEndReason = 'logout' | 'ended_by_user' | 'deleted' | 'wechat_cancellation' | 'support' | 'banned';

/**
 * One login's session: every token of it (the login's and each refresh's) carries its id
 * (`sid`). Ending it refuses those tokens on every worker and host. Kept until its tokens
 * can no longer verify (`purgeAt`), so a refused token is told why.
 */
export interface ISession {
  /** The sid: 128 random bits, base64url. */
  _id: string;
  uid: Types.ObjectId;
  appid: string;
  createdAt: Date;
  refreshedAt: Date;
  /** createdAt + SESSION_MAX_AGE: no token of it is accepted after this. */
  expiresAt: Date;
  endedAt?: Date;
  endReason?: SessionEndReason;
  /** The client address at login or the last refresh, masked to /24 (IPv4) or /48 (IPv6). */
  ip: string;
  userAgent: string;
  /** When the TTL index removes it: past expiresAt by a token's lifetime. */
  purgeAt: Date;
}

export type SessionModel = Model<ISession>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<ISession, SessionModel>({
    _id: { type: String, required: true },
    uid: { type: Schema.Types.ObjectId, required: true, index: true },
    appid: { type: String, required: true },
    createdAt: { type: Date, required: true },
    refreshedAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    endedAt: Date,
    endReason: String,
    ip: { type: String, required: true },
    userAgent: { type: String, required: true },
    purgeAt: { type: Date, required: true },
  }, { versionKey: false });
  schema.index({ purgeAt: 1 }, { expireAfterSeconds: 0 });
  return mpConnection(app).model<ISession, SessionModel>('session', schema, 'user_sessions');
};
