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

/** One mini-program a person uses, and their openid in it. */
export interface IAppLink {
  appid: string;
  openid: string;
}

export interface IUser {
  _id: Types.ObjectId;
  /** The openid in the app the user first came from (`appid`). */
  openId: string;
  /** The app the user first came from; absent on users of the one-app release (they came from the first app). */
  appid?: string;
  /** Every app the user has logged in to, with their openid there (one person across apps: WeChat's unionid). */
  wxApps?: IAppLink[];
  /** WeChat's id of the person across the apps of one open-platform account; unique among users. */
  unionid?: string;
  /** True once the user shared their profile (encryptedData at login). */
  isWXAuth: boolean;
  wxUserInfo?: IWxUserInfo;
  /** The bound phone number; unique among users. */
  telphone?: string;
  _merchant?: IMerchantRef;
  /** Set by support (POST /internal/users/:uid/ban): the user gets 403 USER_BANNED until unbanned. */
  bannedAt?: Date;
  bannedReason?: string;
  /** The internal key's name that banned them. */
  bannedBy?: string;
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
  const appLink = new Schema<IAppLink>({
    appid: { type: String, required: true },
    openid: { type: String, required: true },
  }, { _id: false });
  const userSchema = new Schema<IUser, UserModel>({
    openId: { type: String, required: true, unique: true },
    appid: String,
    wxApps: { type: [ appLink ], default: undefined },
    unionid: String,
    isWXAuth: { type: Boolean, default: false },
    wxUserInfo,
    telphone: String,
    _merchant: { type: merchant, default: undefined },
    avatarUploadUntil: Date,
    bannedAt: Date,
    bannedReason: String,
    bannedBy: String,
  }, { timestamps: true });
  // A number belongs to at most one user: concurrent binds of one number cannot both win.
  userSchema.index({ telphone: 1 }, { unique: true, partialFilterExpression: { telphone: { $type: 'string' } } });
  // One person, one user: concurrent first logins of one person in two apps cannot both insert.
  userSchema.index({ unionid: 1 }, { unique: true, partialFilterExpression: { unionid: { $type: 'string' } } });
  // A login finds its user by the openid of its app.
  userSchema.index({ 'wxApps.openid': 1 });
  return mpConnection(app).model<IUser, UserModel>('user', userSchema);
};
