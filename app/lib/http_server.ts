import crypto from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientErrorResponse } from 'egg';
import type { ErrorCode } from './errors';

/** Limits on how slowly a client may talk to us. */
export interface HttpServerConfig {
  /** All request headers must arrive within this many ms of the connection's first byte. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this many ms. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this many ms. */
  keepAliveTimeoutMs: number;
  /** How often Node checks the two timeouts above (its default, 30 s, would let a slow client stay 40 s). */
  checkIntervalMs: number;
}

/** Paths answered even under overload: load balancers and ops must still see the worker alive. */
const ALWAYS_SERVED = new Set([ '/health' ]);

const OVERLOADED: ErrorCode = 'OVERLOADED';
const OVERLOADED_BODY = JSON.stringify({ code: OVERLOADED, message: 'The server is busy; retry shortly' });

function refuseOverloaded(res: ServerResponse): void {
  res.writeHead(503, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(OVERLOADED_BODY),
    'Retry-After': '1',
    'Cache-Control': 'no-store',
    'X-Request-Id': crypto.randomUUID(),
  });
  res.end(OVERLOADED_BODY);
}

/**
 * Load shedding in front of the application: while this worker already serves
 * `maxInFlight()` requests, a new one is answered 503 OVERLOADED (JSON, Retry-After: 1) at
 * once, instead of queueing behind the others for seconds. It sits before egg on purpose:
 * a refusal builds no context and runs no middleware, so a flood of refused requests cannot
 * eat the CPU the admitted ones need. `maxInFlight()` is read per request; 0 turns it off.
 * Answers the number of requests this server is serving (admitted, not yet closed): what a
 * graceful stop waits for.
 */
export function installLoadShedding(server: Server, maxInFlight: () => number): () => number {
  const handlers = server.listeners('request') as RequestListener[];
  if (handlers.length !== 1) throw new Error(`load shedding expects the app as the only request listener (found ${handlers.length})`);
  const [ app ] = handlers;
  server.removeListener('request', app);
  let inFlight = 0;
  // One function for every response (a closure per request is garbage on the hot path).
  const release = (): void => {
    inFlight--;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const max = maxInFlight();
    if (max > 0 && inFlight >= max && !ALWAYS_SERVED.has((req.url ?? '').split('?', 1)[0])) {
      refuseOverloaded(res);
      return;
    }
    inFlight++;
    res.on('close', release); // emitted once per response
    app(req, res);
  });
  return () => inFlight;
}

/**
 * Applies the limits to the worker's HTTP server. Called on egg's `server` event, before the
 * server listens (Node reads `connectionsCheckingInterval` when listening starts).
 */
export function configureServer(server: Server, config: HttpServerConfig): void {
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // A public property of http.Server (read on 'listening'), typed in @types/node only as a createServer option.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = config.checkIntervalMs;
}

interface ClientErrorShape {
  status: number;
  code: ErrorCode;
  message: string;
}

function describe(err: NodeJS.ErrnoException): ClientErrorShape {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time; send headers and body promptly' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large (at most 16 KiB in all)' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, code: 'MALFORMED_REQUEST', message: 'The request has both Content-Length and Transfer-Encoding; send one' };
    default:
      return { status: 400, code: 'MALFORMED_REQUEST', message: 'The request is not valid HTTP/1.1 (lines end in CRLF, headers are name: value)' };
  }
}

/**
 * egg's `onClientError` hook: errors Node raises before a request reaches Koa (oversized
 * headers, malformed HTTP, a client too slow to send its request) answered as the API's
 * JSON `{ code, message }` instead of egg's HTML page. egg writes the answer and ends the
 * socket; the socket is destroyed once that is flushed, so a client that never closes its
 * side (a slowloris) holds nothing.
 */
export function clientErrorResponse(err: Error, socket: Socket): ClientErrorResponse {
  const { status, code, message } = describe(err as NodeJS.ErrnoException);
  socket.once('finish', () => socket.destroy());
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' },
    body: JSON.stringify({ code, message }),
  };
}
