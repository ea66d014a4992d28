import { performance } from 'node:perf_hooks';
import type { Context, EggLogger } from 'egg';

type Level = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';

/**
 * `ctx.logger` and `ctx.getLogger(name)`: egg's context logger, minus two faults. egg-logger's
 * prefixes every line with the request's URL, query string included, and a query string
 * carries what must not be logged (a push's `signature`, `msg_signature`, `openid`: anyone
 * reading the log could replay them). This one prints the path only. egg-logger's also warns
 * "EggContextLogger is deprecated" at every start; this one is not that class.
 * Line format as egg's: `[$userId/$ip/$traceId/$ms $method $path]`.
 */
export class PathOnlyContextLogger {
  constructor(private readonly ctx: Context, private readonly logger: EggLogger) {}

  get paddingMessage(): string {
    const { ctx } = this;
    const started = (ctx as Context & { performanceStarttime?: number }).performanceStarttime;
    const ms = started ? Math.floor((performance.now() - started) * 1000) / 1000 : Date.now() - ctx.starttime;
    return `[${ctx.userId || '-'}/${ctx.ip}/${ctx.tracer?.traceId || '-'}/${ms}ms ${ctx.method} ${ctx.path}]`;
  }

  write(msg: string): void {
    this.logger.write(msg);
  }

  private log(level: Level, args: unknown[]): void {
    (this.logger as unknown as { log(level: Level, args: unknown[], meta: object): void }).log(level, args, { paddingMessage: this.paddingMessage, ctx: this.ctx });
  }

  error(...args: unknown[]): void {
    this.log('ERROR', args);
  }

  warn(...args: unknown[]): void {
    this.log('WARN', args);
  }

  info(...args: unknown[]): void {
    this.log('INFO', args);
  }

  debug(...args: unknown[]): void {
    this.log('DEBUG', args);
  }
}
