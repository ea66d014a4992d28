import type { Application } from 'egg';
import type { Model } from 'mongoose';
import { mpConnection } from '../lib/db';

/**
 * rate-limiter-flexible's counters (RateLimiterMongo's documents: `key`, `points`,
 * `expire`). Declared here so Mongoose creates its indexes like every other collection's:
 * one counter per key, removed by the TTL monitor once its window has passed.
 */
export interface IRateLimit {
  key: string;
  points: number;
  expire: Date | null;
}

export type RateLimitModel = Model<IRateLimit>;

export const RATE_LIMIT_COLLECTION = 'rate_limits';

export default (app: Application) => {
  const { Schema } = app.mongoose;
  const rateLimitSchema = new Schema<IRateLimit, RateLimitModel>({
    key: { type: String, required: true, unique: true },
    points: { type: Number, required: true },
    expire: { type: Date, default: null },
  }, { versionKey: false });
  rateLimitSchema.index({ expire: -1 }, { expireAfterSeconds: 0 });
  return mpConnection(app).model<IRateLimit, RateLimitModel>('rate_limit', rateLimitSchema, RATE_LIMIT_COLLECTION);
};
