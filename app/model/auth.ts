import type { Application } from 'egg';
import type { HydratedDocument, Model } from 'mongoose';
import { mpConnection } from '../lib/db';

/** Token kinds: the seed stores other third parties' tokens beside WeChat's. */
export const TOKEN_TYPE_MINIPROGRAM = 1;

export interface IThirdToken {
  access_token: string;
  /** 1 = mini-program access_token */
  type: number;
  /** Which mini-program; one database can serve several. */
  appid: string;
  /** When the token was fetched; the TTL index deletes the record 6600 s later (10 min before WeChat's 7200 s). */
  endTime: Date;
  /** Lifetime WeChat gave, in seconds. */
  expires_in: number;
  updateTime: Date;
  created: Date;
  updated: Date;
}

export interface ThirdTokenModel extends Model<IThirdToken> {
  addOne(body: Partial<IThirdToken>): Promise<HydratedDocument<IThirdToken>>;
}

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const tokenSchema = new Schema<IThirdToken, ThirdTokenModel>({
    access_token: { type: String, required: true },
    type: { type: Number, required: true },
    appid: { type: String, required: true },
    endTime: { type: Date, default: Date.now, index: { expires: 6600 } },
    expires_in: { type: Number, required: true },
    updateTime: { type: Date, required: true },
  }, {
    timestamps: { createdAt: 'created', updatedAt: 'updated' },
  });
  tokenSchema.index({ type: 1, appid: 1 }, { unique: true });
  // The seed's addOne returned the error as a value; here it rejects like any other write.
  tokenSchema.static('addOne', function addOne(this: ThirdTokenModel, body: Partial<IThirdToken>) {
    return this.create({ ...body });
  });
  return mpConnection(app).model<IThirdToken, ThirdTokenModel>('third_token', tokenSchema);
};
