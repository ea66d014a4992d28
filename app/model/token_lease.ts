import type { Application } from 'egg';
import type { Model } from 'mongoose';
import type { WeChatFailure } from '../lib/errors';
import { mpConnection } from '../lib/db';

/**
 * The refresh lease: whoever holds the document for a token key is the only one that
 * calls WeChat. It expires on its own, so a crashed holder blocks nobody for long.
 */
export interface ITokenLease {
  _id: string;
  holder: string;
  expiresAt: Date;
  /** Set when the holder's refresh failed, so waiters stop waiting at once. */
  failedAt?: Date;
  failure?: WeChatFailure;
  errcode?: number;
  errmsg?: string;
  /** What a `forced:` lease was taken for: a hash of the reported token (never the token). */
  subject?: string;
}

export type TokenLeaseModel = Model<ITokenLease>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const leaseSchema = new Schema<ITokenLease, TokenLeaseModel>({
    _id: { type: String, required: true },
    holder: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    failedAt: Date,
    failure: String,
    errcode: Number,
    errmsg: String,
    subject: String,
  }, { versionKey: false });
  return mpConnection(app).model<ITokenLease, TokenLeaseModel>('third_token_lease', leaseSchema, 'third_token_lease');
};
