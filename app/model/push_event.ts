import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

/** One verified message from WeChat's message push, kept 7 days. */
export interface IPushEvent {
  /** The dedup key: `MsgId`, or sender + CreateTime + Event + trace_id; a repeated push collides here. */
  _id: string;
  appid: string;
  msgType: string;
  event?: string;
  fromUser?: string;
  /** The user the message is about: `OpenID` of an account event (sent by the platform's push account), else the sender. */
  openid?: string;
  /** The decrypted message as WeChat sent it. */
  message: Record<string, unknown>;
  receivedAt: Date;
  status: 'received' | 'handled' | 'failed' | 'unhandled';
  handledAt?: Date;
  error?: string;
}

export type PushEventModel = Model<IPushEvent>;

export const PUSH_EVENT_TTL_SECONDS = 7 * 24 * 3600;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IPushEvent, PushEventModel>({
    _id: { type: String, required: true },
    appid: { type: String, required: true },
    msgType: { type: String, required: true },
    event: String,
    fromUser: String,
    openid: { type: String, index: true },
    message: { type: Schema.Types.Mixed, required: true },
    receivedAt: { type: Date, required: true },
    status: { type: String, required: true },
    handledAt: Date,
    error: String,
  }, { versionKey: false, minimize: false });
  schema.index({ receivedAt: 1 }, { expireAfterSeconds: PUSH_EVENT_TTL_SECONDS });
  return mpConnection(app).model<IPushEvent, PushEventModel>('wx_push_event', schema, 'wx_push_events');
};
