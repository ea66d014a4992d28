import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

export type ContentSuggest = 'pass' | 'review' | 'risky';

/** An asynchronous media check (media_check_async) and, once pushed, its verdict. */
export interface IMediaCheck {
  /** WeChat's trace_id: how the pushed verdict finds this record. */
  _id: string;
  openid: string;
  mediaUrl: string;
  /** 1 audio, 2 image */
  mediaType: number;
  /** What the media is (e.g. `{ kind: 'avatar', id }`), so the verdict's handler knows what to act on. */
  subject: Record<string, unknown>;
  status: 'pending' | ContentSuggest;
  label?: number;
  createdAt: Date;
  checkedAt?: Date;
}

export type MediaCheckModel = Model<IMediaCheck>;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IMediaCheck, MediaCheckModel>({
    _id: { type: String, required: true },
    openid: { type: String, required: true, index: true },
    mediaUrl: { type: String, required: true },
    mediaType: { type: Number, required: true },
    subject: { type: Schema.Types.Mixed, required: true },
    status: { type: String, required: true },
    label: Number,
    createdAt: { type: Date, required: true },
    checkedAt: Date,
  }, { versionKey: false });
  return mpConnection(app).model<IMediaCheck, MediaCheckModel>('wx_media_check', schema, 'wx_media_checks');
};
