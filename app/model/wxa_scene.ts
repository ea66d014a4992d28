import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

/** A mini-program code's payload: the code's `scene` is this record's id. */
export interface IWxaScene {
  _id: string;
  appid: string;
  payload: unknown;
  createdAt: Date;
}

export type WxaSceneModel = Model<IWxaScene>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IWxaScene, WxaSceneModel>({
    _id: { type: String, required: true },
    appid: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
  }, { versionKey: false, minimize: false });
  return mpConnection(app).model<IWxaScene, WxaSceneModel>('wx_scene', schema, 'wx_scenes');
};
