import type { Application } from 'egg';
import type { Model, Types } from 'mongoose';
import type { IWxUserInfo } from '../../account/user';
import { mpConnection } from '../../../lib/db';

/** A mini-program user's WeChat link on the platform user of their number. */
export interface IBasicWxLink {
  openId: string;
  unionid?: string;
  UserInfo?: IWxUserInfo;
}

/** The platform-wide user keyed by phone number, which a bound mini-program user feeds. */
export interface IBasicUser {
  _id: Types.ObjectId;
  phone: string;
  /**
   * The WeChat link: which mini-program user (openId) holds this number, with their profile
   * and unionid. Written and removed as a whole, so it never mixes two WeChat users.
   */
  wx_openId?: string;
  wx_UserInfo?: IWxUserInfo;
  wx_unionid?: string;
  /**
   * The WeChat link per mini-program, by AppID, each written and removed as a whole. The
   * fields above are the link the latest bind wrote (what readers of the one-app release see).
   */
  wx_apps?: Record<string, IBasicWxLink>;
  createdAt: Date;
  updatedAt: Date;
}

export type BasicUserModel = Model<IBasicUser>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const basicUserSchema = new Schema<IBasicUser, BasicUserModel>({
    phone: { type: String, required: true, unique: true },
    wx_openId: String,
    wx_UserInfo: { type: Schema.Types.Mixed },
    wx_unionid: String,
    wx_apps: { type: Schema.Types.Mixed },
  }, { timestamps: true });
  return mpConnection(app).model<IBasicUser, BasicUserModel>('basics_user', basicUserSchema);
};
