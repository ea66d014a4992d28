import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientErrorResponse } from 'egg';

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
  code: string;
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
