import type { Application } from 'egg';
import type { Model, Types } from 'mongoose';
import { mpConnection } from '../../lib/db';

/** The profile fields WeChat's encrypted user data carries, as the seed stores them. */
export interface IWxUserInfo {
  nickName?: string;
  avatarUrl?: string;
  /** 0 unknown, 1 male, 2 female */
  gender?: number;
  city?: string;
  province?: string;
  country?: string;
  language?: string;
}

/** The merchant a user belongs to, if any (many users have none; the seed crashed on them). */
export interface IMerchantRef {
  _id: Types.ObjectId;
  role?: string;
}

export interface IUser {
  _id: Types.ObjectId;
  openId: string;
  unionid?: string;
  /** True once the user shared their profile (encryptedData at login). */
  isWXAuth: boolean;
  wxUserInfo?: IWxUserInfo;
  /** The bound phone number; unique among users. */
  telphone?: string;
  _merchant?: IMerchantRef;
  /** Set while one of the user's avatar uploads is processed (the per-user upload lock); lapses at this time. */
  avatarUploadUntil?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export type UserModel = Model<IUser>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const wxUserInfo = new Schema<IWxUserInfo>({
    nickName: String,
    avatarUrl: String,
    gender: Number,
    city: String,
    province: String,
    country: String,
    language: String,
  }, { _id: false });
  const merchant = new Schema<IMerchantRef>({
    _id: { type: Schema.Types.ObjectId, required: true },
    role: String,
  }, { _id: false });
  const userSchema = new Schema<IUser, UserModel>({
    openId: { type: String, required: true, unique: true },
    unionid: String,
    isWXAuth: { type: Boolean, default: false },
    wxUserInfo,
    telphone: String,
    _merchant: { type: merchant, default: undefined },
    avatarUploadUntil: Date,
  }, { timestamps: true });
  // A number belongs to at most one user: concurrent binds of one number cannot both win.
  userSchema.index({ telphone: 1 }, { unique: true, partialFilterExpression: { telphone: { $type: 'string' } } });
  return mpConnection(app).model<IUser, UserModel>('user', userSchema);
};
