import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

/**
 * What WeChat last said of an app's AppSecret, shared by every worker and host (GET /health):
 * when a call carrying it was refused (40125 invalid appsecret, 40013 invalid appid), and when
 * one last succeeded. A stored access_token keeps serving for up to two hours after a secret
 * goes bad, so the token's state alone would say "ok" while every login fails.
 */
export interface IWxSecretState {
  /** The AppID. */
  _id: string;
  rejectedAt?: Date;
  errcode?: number;
  acceptedAt?: Date;
}

export type WxSecretStateModel = Model<IWxSecretState>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IWxSecretState, WxSecretStateModel>({
    _id: { type: String, required: true },
    rejectedAt: Date,
    errcode: Number,
    acceptedAt: Date,
  }, { versionKey: false });
  return mpConnection(app).model<IWxSecretState, WxSecretStateModel>('wx_secret_state', schema, 'wx_secret_state');
};
