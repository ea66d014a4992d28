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
const TOO_MANY_CONNECTIONS_BODY = JSON.stringify({ code: OVERLOADED, message: 'Too many connections from your address; retry shortly' });
const BODY_TIMEOUT: ErrorCode = 'REQUEST_TIMEOUT';
const BODY_TIMEOUT_BODY = JSON.stringify({ code: BODY_TIMEOUT, message: 'The request body did not arrive in time; send it promptly' });

function refuse(res: ServerResponse, status: number, body: string, close: boolean): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...(status === 503 ? { 'Retry-After': '1' } : {}),
    'Cache-Control': 'no-store',
    'X-Request-Id': crypto.randomUUID(),
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

/** What load shedding admits; every field is read per request, so a change applies at once. */
export interface AdmissionLimits {
  /** Requests served at once, counted once their body has arrived; more are refused 503 (0: off). */
  maxInFlight: number;
  /** Requests whose body is still arriving, at once; more are refused 503 (0: off). */
  maxBodyPending: number;
  /** A JSON (or other non-upload) body must arrive within this many ms of its headers, or 408. */
  bodyTimeoutMs: number;
  /** The same for a multipart upload (an avatar from a phone on a slow network). */
  uploadBodyTimeoutMs: number;
  /** Open connections one client address may hold in this worker; requests on more are refused 503 (0: off). */
  maxConnectionsPerAddress: number;
}

/** This worker's load right now (GET /health). */
export interface Saturation {
  inFlight: number;
  bodyPending: number;
  /** Whether a new request would be refused now. */
  saturated: boolean;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Load shedding in front of the application. A request counts toward `maxInFlight` only once
 * its body has arrived: until then it costs no CPU, and counting it let 140 idle connections
 * dribbling bodies refuse every other request. Those wait under their own cap
 * (`maxBodyPending`) and deadline (`bodyTimeoutMs`, then 408 and the connection closed). A
 * request beyond either cap is answered 503 OVERLOADED (JSON, Retry-After: 1) at once; so is
 * one on a connection beyond `maxConnectionsPerAddress` of its address (then closed). The
 * shedding sits before egg on purpose: a refusal builds no context and runs no middleware.
 * Answers this worker's saturation (what a graceful stop and /health read).
 */
export function installLoadShedding(server: Server, limits: () => AdmissionLimits): () => Saturation {
  const handlers = server.listeners('request') as RequestListener[];
  if (handlers.length !== 1) throw new Error(`load shedding expects the app as the only request listener (found ${handlers.length})`);
  const [ app ] = handlers;
  server.removeListener('request', app);
  let inFlight = 0;
  let bodyPending = 0;
  const perAddress = new Map<string, number>();
  const overConnectionCap = new WeakSet<Socket>();

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const open = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, open);
    const max = limits().maxConnectionsPerAddress;
    if (max > 0 && open > max) overConnectionCap.add(socket);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });

  // One function for every bodiless response (a closure per request is garbage on the hot path).
  const release = (): void => {
    inFlight--;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const { maxInFlight, maxBodyPending, bodyTimeoutMs, uploadBodyTimeoutMs } = limits();
    const exempt = ALWAYS_SERVED.has((req.url ?? '').split('?', 1)[0]);
    if (!exempt && overConnectionCap.has(req.socket)) {
      refuse(res, 503, TOO_MANY_CONNECTIONS_BODY, true);
      return;
    }
    if (!exempt && maxInFlight > 0 && inFlight >= maxInFlight) {
      refuse(res, 503, OVERLOADED_BODY, false);
      return;
    }
    if (!hasBody(req)) {
      inFlight++;
      res.on('close', release); // emitted once per response
      app(req, res);
      return;
    }
    if (!exempt && maxBodyPending > 0 && bodyPending >= maxBodyPending) {
      // The body is not read: close the connection after the answer.
      refuse(res, 503, OVERLOADED_BODY, true);
      return;
    }
    // Waiting for its body: under the body cap and deadline, not yet in flight.
    bodyPending++;
    let state: 'pending' | 'admitted' | 'done' = 'pending';
    const upload = /^multipart\//i.test(req.headers['content-type'] ?? '');
    const timer = setTimeout(() => {
      if (state !== 'pending') return;
      if (!res.headersSent) {
        res.once('finish', () => req.socket.destroy());
        refuse(res, 408, BODY_TIMEOUT_BODY, true);
      } else {
        req.socket.destroy();
      }
    }, upload ? uploadBodyTimeoutMs : bodyTimeoutMs);
    timer.unref();
    req.once('end', () => {
      if (state !== 'pending') return;
      state = 'admitted';
      clearTimeout(timer);
      bodyPending--;
      inFlight++;
    });
    res.on('close', () => {
      clearTimeout(timer);
      if (state === 'pending') bodyPending--;
      else if (state === 'admitted') inFlight--;
      state = 'done';
    });
    app(req, res);
  });
  return () => {
    const { maxInFlight } = limits();
    return { inFlight, bodyPending, saturated: maxInFlight > 0 && inFlight >= maxInFlight };
  };
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
