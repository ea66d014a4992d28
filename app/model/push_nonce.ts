import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

/**
 * A (timestamp, nonce) pair a plaintext-mode push was signed with, and the message it carried:
 * the pair signs that message only (its signature does not cover the body). Kept until the
 * timestamp leaves the accepted window.
 */
export interface IPushNonce {
  /** `<appid>:<timestamp>:<nonce>` */
  _id: string;
  /** The dedupe key of the message first received under the pair. */
  key: string;
  expiresAt: Date;
}

export type PushNonceModel = Model<IPushNonce>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IPushNonce, PushNonceModel>({
    _id: { type: String, required: true },
    key: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  }, { versionKey: false });
  schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
  return mpConnection(app).model<IPushNonce, PushNonceModel>('wx_push_nonce', schema, 'wx_push_nonces');
};
