import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What egg 3 runs every request in (`app.ctxStorage`), minus the storage: it calls the
 * callback and keeps nothing.
 *
 * egg wraps each request in an AsyncLocalStorage so that code holding no `ctx` can find it
 * (`app.currentContext`, `app.logger` lines tagged with the request). On Node 20 a used
 * AsyncLocalStorage installs promise hooks, and from then on every promise the worker makes
 * (the MongoDB driver alone makes dozens per read) calls into JavaScript. Measured with
 * `npm run bench:profile` at a fixed 1200 req/s: about 90 µs of the ~880 µs a worker spent
 * per `GET /user/info`. Nothing in this app looks the context up that way: request code
 * has its `ctx` (`this.ctx`, `ctx.logger`, `this.logger` in services), and the schedules
 * get theirs as an argument.
 */
export class NoContextStorage<T> extends AsyncLocalStorage<T> {
  override run<R, TArgs extends unknown[]>(_store: T, callback: (...args: TArgs) => R, ...args: TArgs): R {
    return callback(...args);
  }

  override getStore(): T | undefined {
    return undefined;
  }

  override enterWith(): void {
    // keeps nothing: see the class comment
  }
}
