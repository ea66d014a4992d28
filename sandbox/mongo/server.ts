/**
 * A MongoDB-wire-compatible server for development and tests. Production uses a real
 * MongoDB; nothing under app/ or config/ imports this file.
 */
import net from 'node:net';
import type { Document } from 'bson';
import { ScramAuthenticator, type ConnectionAuth, type SandboxUser } from './auth';
import { CommandHandler } from './commands';
import { CommandError } from './errors';
import { Storage } from './storage';
import { encodeReply, MessageFramer, parseMessage, ProtocolError } from './wire';

export interface MongoSandboxOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Directory for the on-disk snapshot; in memory when omitted. */
  dbpath?: string;
  /** How often the TTL monitor runs (mongod: 60 s). */
  ttlMonitorMs?: number;
  /**
   * How often a dirty store is written to disk (bounds what a kill -9 can lose); 0 writes
   * it before every reply, so an acknowledged write survives a kill -9 (like `j: true`).
   */
  flushMs?: number;
  /** How long an idle cursor lives (mongod: 10 minutes). */
  cursorTimeoutMs?: number;
  /** Receives one line per notable event (protocol errors); silent by default. */
  log?: (line: string) => void;
  /** Serve this store (a restart that keeps its data, as a mongod restart would). */
  storage?: Storage;
  /** Require SCRAM-SHA-256 authentication as these users (mongod `--auth`); open when omitted. */
  users?: SandboxUser[];
}

export interface MongoSandbox {
  uri: string;
  port: number;
  storage: Storage;
  handler: CommandHandler;
  /** Closes every connection, flushes to disk, releases the port. */
  stop(): Promise<void>;
}

export async function startMongoSandbox(options: MongoSandboxOptions = {}): Promise<MongoSandbox> {
  const storage = options.storage ?? new Storage(options.dbpath);
  const handler = new CommandHandler(storage, options.cursorTimeoutMs);
  const log = options.log ?? (() => undefined);
  const sockets = new Set<net.Socket>();
  let nextConnectionId = 1;
  const syncFlush = !!options.dbpath && options.flushMs === 0;
  const authenticator = options.users?.length ? new ScramAuthenticator(options.users) : undefined;

  /** One command of one connection, with authentication when the server requires it. */
  const run = (name: string, body: Document, db: string, connectionId: number, auth: ConnectionAuth): Document => {
    if (!authenticator) return handler.run(name, body, { db, connectionId });
    authenticator.authorize(name, auth);
    if (name === 'saslStart') return authenticator.saslStart(body, db, auth);
    if (name === 'saslContinue') return authenticator.saslContinue(body, auth);
    if (name === 'logout') {
      auth.user = undefined;
      return { ok: 1 };
    }
    const reply = handler.run(name, body, { db, connectionId });
    return name === 'hello' || name.toLowerCase() === 'ismaster' ? authenticator.decorateHello(body, db, auth, reply) : reply;
  };

  const server = net.createServer(socket => {
    const connectionId = nextConnectionId++;
    const framer = new MessageFramer();
    const auth: ConnectionAuth = {};
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('data', chunk => {
      try {
        for (const msg of framer.push(chunk)) {
          const req = parseMessage(msg);
          const name = Object.keys(req.body)[0] ?? '';
          let reply: Document;
          try {
            reply = run(name, req.body, req.db, connectionId, auth);
          } catch (err) {
            reply = err instanceof CommandError
              ? err.toReply()
              : { ok: 0, errmsg: (err as Error).message, code: 1, codeName: 'InternalError' };
          }
          if (syncFlush) storage.flush();
          if (!req.moreToCome) socket.write(encodeReply(req, reply));
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        log(`mongo: closing connection ${connectionId}: ${err.message}`);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      handler.closeConnection(connectionId);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const timers = [
    setInterval(() => storage.expire(), options.ttlMonitorMs ?? 60_000),
    setInterval(() => handler.reapCursors(), 30_000),
  ];
  if (options.dbpath && !syncFlush) timers.push(setInterval(() => storage.flush(), options.flushMs ?? 200));
  timers.forEach(t => t.unref());

  const port = (server.address() as net.AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    port,
    storage,
    handler,
    stop() {
      stopped ??= new Promise<void>(resolve => {
        timers.forEach(clearInterval);
        for (const s of sockets) s.destroy();
        server.close(() => {
          storage.flush();
          resolve();
        });
      });
      return stopped;
    },
  };
}
