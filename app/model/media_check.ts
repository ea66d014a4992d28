import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

export type ContentSuggest = 'pass' | 'review' | 'risky';

/** An asynchronous media check (media_check_async) and, once pushed, its verdict. */
export interface IMediaCheck {
  /** WeChat's trace_id: how the pushed verdict finds this record. */
  _id: string;
  /** The user's openid; absent on a verdict that arrived for a check not (or no longer) recorded. */
  openid?: string;
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

export const MEDIA_CHECK_TTL_SECONDS = 30 * 24 * 3600;

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const schema = new Schema<IMediaCheck, MediaCheckModel>({
    _id: { type: String, required: true },
    openid: { type: String, index: true },
    mediaUrl: { type: String, required: true },
    mediaType: { type: Number, required: true },
    subject: { type: Schema.Types.Mixed, required: true },
    status: { type: String, required: true },
    label: Number,
    createdAt: { type: Date, required: true },
    checkedAt: Date,
  }, { versionKey: false });
  // Kept 30 days: long enough for any verdict (WeChat answers within 30 minutes), not forever.
  schema.index({ createdAt: 1 }, { expireAfterSeconds: MEDIA_CHECK_TTL_SECONDS });
  return mpConnection(app).model<IMediaCheck, MediaCheckModel>('wx_media_check', schema, 'wx_media_checks');
};
