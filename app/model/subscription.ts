import type { Application } from 'egg';
import type { Model, Types } from 'mongoose';
import { mpConnection } from '../lib/db';

/** What the user answered wx.requestSubscribeMessage for one template, and the sends it allows. */
export interface ISubscription {
  /** `<uid>:<appid>:<templateId>` */
  _id: string;
  uid: Types.ObjectId;
  appid: string;
  templateId: string;
  /** The last answer: accept, reject, ban (turned off in settings) or filter (WeChat filtered the template). */
  status: 'accept' | 'reject' | 'ban' | 'filter';
  /** One-time sends left: each `accept` adds one, each send takes one. */
  remaining: number;
  updatedAt: Date;
}

export type SubscriptionModel = Model<ISubscription>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<ISubscription, SubscriptionModel>({
    _id: { type: String, required: true },
    uid: { type: Schema.Types.ObjectId, required: true, index: true },
    appid: { type: String, required: true },
    templateId: { type: String, required: true },
    status: { type: String, required: true },
    remaining: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
  }, { versionKey: false });
  return mpConnection(app).model<ISubscription, SubscriptionModel>('wx_subscription', schema, 'wx_subscriptions');
};
