/**
 * Starts the stand-ins for `npm run dev` and the tests; called only from agent.ts, and only
 * when the config asks (never in prod). Several agents in one process (tests that boot two
 * apps) share one set: the last to release stops them.
 */
import path from 'node:path';
import { startMongoSandbox, type MongoSandbox } from './mongo/server';
import { startWeChatDouble, type WeChatDouble } from './wechat/server';

export interface SandboxBootOptions {
  baseDir: string;
  mongo?: { port: number; dbpath?: string };
  wechat?: { port: number };
  log: (line: string) => void;
}

interface Running {
  mongo?: MongoSandbox;
  mongoOptions?: { port: number; dbpath?: string };
  wechat?: WeChatDouble;
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
  if (options.wechat) {
    running.wechat = await startWeChatDouble({ port: options.wechat.port });
    process.env.SANDBOX_WECHAT_URL = running.wechat.url;
    options.log(`[sandbox] wechat: ${running.wechat.url}`);
  }
}

export async function releaseSandbox(): Promise<void> {
  if (!running || --running.users > 0) return;
  const { mongo, wechat } = running;
  running = undefined;
  delete process.env.SANDBOX_MONGO_URI;
  delete process.env.SANDBOX_WECHAT_URL;
  await Promise.all([ mongo?.stop(), wechat?.close() ]);
}

/** For fault tests: the database goes away (connections dropped, port closed)... */
export async function stopSandboxMongo(): Promise<void> {
  await running?.mongo?.stop();
}

/** ...and comes back on the same port with the same data, as a restarted mongod would. */
export async function restartSandboxMongo(): Promise<void> {
  if (!running?.mongoOptions) throw new Error('no sandbox mongo to restart');
  running.mongo = await startMongoSandbox({ ...running.mongoOptions, storage: running.mongo?.storage });
}

export function sandboxMongo(): MongoSandbox | undefined {
  return running?.mongo;
}

export function sandboxWeChat(): WeChatDouble | undefined {
  return running?.wechat;
}
