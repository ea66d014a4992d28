import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Context } from 'egg';
import { httpDuration, httpRequests } from '../lib/metrics';

const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * Headers on every answer, errors included: no cache may keep it (tokens and personal data),
 * and the browser-side protections for an API (OWASP's REST Security Cheat Sheet): an answer
 * opened in a browser runs nothing, loads nothing and cannot be framed (the /docs page sets
 * its own policy). X-XSS-Protection is 0: the old browsers' XSS auditor it switched on could
 * itself be used to attack a page (MDN, OWASP), and the policy above does its job.
 */
const EVERY_ANSWER = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-download-options': 'noopen',
  'x-xss-protection': '0',
} as const;

/**
 * Outermost of all: gives every request an id (the client's `X-Request-Id` when it is a
 * sane token, else a new one), returns it in the response header, and puts it in every log
 * line of the request (egg's context logger prints `ctx.tracer.traceId`). Also sets the
 * headers of EVERY_ANSWER, `Cache-Control: no-store` among them; a route serving something
 * cacheable sets its own. Writes the request's line to access.log once it is answered.
 */
export default () => async function requestId(ctx: Context, next: () => Promise<void>): Promise<void> {
  const given = ctx.get('x-request-id');
  const id = CLIENT_ID.test(given) ? given : crypto.randomUUID();
  ctx.tracer = { traceId: id };
  ctx.set(EVERY_ANSWER);
  ctx.set('x-request-id', id);
  const started = performance.now();
  try {
    await next();
  } finally {
    const seconds = (performance.now() - started) / 1000;
    // The route's pattern (never a raw path with ids) keeps the label set small.
    const route = ctx.routerPath || 'unmatched';
    httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
    httpDuration.observe({ method: ctx.method, route }, seconds);
    // The access log: no query string, no body, no header values (tokens live there).
    const ms = (seconds * 1000).toFixed(1);
    ctx.app.getLogger('accessLogger').info(`${new Date().toISOString()} ${id} ${ctx.method} ${ctx.path} ${ctx.status} ${ms}ms uid=${ctx.uid ?? ctx.internalCaller ?? '-'} ip=${ctx.ip}`);
  }
};
