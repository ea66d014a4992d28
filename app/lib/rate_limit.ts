import type { Connection } from 'mongoose';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from './errors';
import { RATE_LIMIT_COLLECTION } from '../model/rate_limit';

/** What a limit counts: logins per client address, or writes per user. */
export type RateLimitScope = 'login' | 'user';

const WINDOW_SECONDS = 60;

/**
 * One RateLimiterMongo per scope and limit, built on first use. The counters live in
 * MongoDB, so a limit holds across workers and hosts.
 */
export class RateLimiters {
  private readonly limiters = new Map<string, RateLimiterMongo>();

  constructor(private readonly connection: () => Connection) {}

  private limiter(scope: RateLimitScope, perMinute: number): RateLimiterMongo {
    const id = `${scope}:${perMinute}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterMongo({
        storeClient: this.connection(),
        tableName: RATE_LIMIT_COLLECTION,
        // the rate_limit model creates the indexes (and rate-limiter-flexible would log with console)
        disableIndexesCreation: true,
        keyPrefix: scope,
        points: perMinute,
        duration: WINDOW_SECONDS,
        // Once a key is over its limit, this worker refuses it from memory until the window
        // ends: a flood costs MongoDB one write per worker, not one per refused request.
        inMemoryBlockOnConsumed: perMinute + 1,
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  /**
   * Counts one request of `key`; throws RateLimitedError (429, with Retry-After) once it is
   * over `perMinute` in the current window. `perMinute` 0 means no limit. A database failure
   * propagates (answered as 503 like any other).
   */
  async consume(scope: RateLimitScope, key: string, perMinute: number): Promise<void> {
    if (perMinute <= 0) return;
    try {
      await this.limiter(scope, perMinute).consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      throw err;
    }
  }
}
