/**
 * Starts the stand-ins for `npm run dev` and the tests; called only from agent.ts, and only
 * when the config asks (never in prod). Several agents in one process (tests that boot two
 * apps) share one set: the last to release stops them.
 */
import path from 'node:path';
import { startMongoSandbox, type MongoSandbox } from './mongo/server';

export interface SandboxBootOptions {
  baseDir: string;
  mongo?: { port: number; dbpath?: string };
  log: (line: string) => void;
}

interface Running {
  mongo?: MongoSandbox;
  mongoOptions?: { port: number; dbpath?: string };
  users: number;
}

let running: Running | undefined;

export async function acquireSandbox(options: SandboxBootOptions): Promise<void> {
  if (running) {
    running.users++;
    return;
  }
  running = { users: 1 };
  if (options.mongo) {
    const dbpath = options.mongo.dbpath ? path.resolve(options.baseDir, options.mongo.dbpath) : undefined;
    running.mongo = await startMongoSandbox({ port: options.mongo.port, dbpath });
    running.mongoOptions = { port: running.mongo.port, dbpath };
    process.env.SANDBOX_MONGO_URI = running.mongo.uri;
    options.log(`[sandbox] mongo: ${running.mongo.uri}${dbpath ? ` (data in ${dbpath})` : ' (in memory)'}`);
  }
}

export async function releaseSandbox(): Promise<void> {
  if (!running || --running.users > 0) return;
  const { mongo } = running;
  running = undefined;
  delete process.env.SANDBOX_MONGO_URI;
  await mongo?.stop();
}

/** For fault tests: the database goes away (connections dropped, port closed)... */
export async function stopSandboxMongo(): Promise<void> {
  await running?.mongo?.stop();
}

/** ...and comes back on the same port, with the same data when it has a dbpath. */
export async function restartSandboxMongo(): Promise<void> {
  if (!running?.mongoOptions) throw new Error('no sandbox mongo to restart');
  running.mongo = await startMongoSandbox(running.mongoOptions);
}

export function sandboxMongo(): MongoSandbox | undefined {
  return running?.mongo;
}
