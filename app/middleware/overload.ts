import type { Context } from 'egg';
import { OverloadedError } from '../lib/errors';

/** Answered even under overload: load balancers and ops must still see the worker alive. */
const ALWAYS_SERVED = new Set([ '/health' ]);

/**
 * Load shedding, right after the request id and error handler: when this worker already
 * serves `overload.maxInFlight` requests, a new one is refused at once with 503 OVERLOADED
 * and Retry-After, instead of queueing behind the others (for seconds, under a flood) and
 * timing out anyway. Cheap by design: no body is read, nothing is called.
 */
export default () => async function overload(ctx: Context, next: () => Promise<void>): Promise<void> {
  const { maxInFlight } = ctx.app.config.overload;
  // requestsInFlight already counts this request (the requestId middleware runs first).
  if (maxInFlight > 0 && ctx.app.requestsInFlight > maxInFlight && !ALWAYS_SERVED.has(ctx.path)) {
    throw new OverloadedError();
  }
  await next();
};
