import type { Application } from 'egg';
import type { Model, Types } from 'mongoose';
import { mpConnection } from '../lib/db';

/** One subscribe message asked of the gateway (kept 30 days). */
export interface IMessageSend {
  _id: Types.ObjectId;
  /** `<key name>:<Idempotency-Key>`: a retried request answers this record's outcome. */
  idempotencyKey?: string;
  uid: Types.ObjectId;
  appid: string;
  templateId: string;
  caller: string;
  status: 'pending' | 'sent' | 'refused' | 'failed';
  /** The answer given: HTTP status and body. */
  httpStatus?: number;
  answer?: Record<string, unknown>;
  errcode?: number;
  at: Date;
}

export type MessageSendModel = Model<IMessageSend>;

export const MESSAGE_SEND_TTL_SECONDS = 30 * 86_400;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IMessageSend, MessageSendModel>({
    idempotencyKey: String,
    uid: { type: Schema.Types.ObjectId, required: true },
    appid: { type: String, required: true },
    templateId: { type: String, required: true },
    caller: { type: String, required: true },
    status: { type: String, required: true },
    httpStatus: Number,
    answer: Schema.Types.Mixed,
    errcode: Number,
    at: { type: Date, required: true },
  }, { versionKey: false });
  schema.index({ idempotencyKey: 1 }, { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } });
  schema.index({ at: 1 }, { expireAfterSeconds: MESSAGE_SEND_TTL_SECONDS });
  return mpConnection(app).model<IMessageSend, MessageSendModel>('wx_message_send', schema, 'wx_message_sends');
};
