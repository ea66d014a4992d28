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

/** A taken port is the usual way `npm run dev` fails: say so in one line, with the way out. */
async function onPort<T>(what: string, port: number, variable: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const hint = new Error(`[sandbox] ${what} port ${port} is taken (another \`npm run dev\`?); stop it or set ${variable} to a free port`);
    hint.stack = hint.message; // one line, not a trace
    throw hint;
  }
}

export interface StandIns {
  mongo?: MongoSandbox;
  wechat?: WeChatDouble;
}

/** Starts the stand-ins the options ask for; on failure stops what did start and says why in one line. */
export async function startStandIns(options: Pick<SandboxBootOptions, 'baseDir' | 'mongo' | 'wechat'>): Promise<StandIns> {
  const started: StandIns = {};
  try {
    if (options.mongo) {
      const dbpath = options.mongo.dbpath ? path.resolve(options.baseDir, options.mongo.dbpath) : undefined;
      const { port } = options.mongo;
      started.mongo = await onPort('MongoDB sandbox', port, 'SANDBOX_MONGO_PORT', () => startMongoSandbox({ port, dbpath }));
    }
    if (options.wechat) {
      const { port } = options.wechat;
      started.wechat = await onPort('WeChat double', port, 'SANDBOX_WECHAT_PORT', () => startWeChatDouble({ port }));
    }
    return started;
  } catch (err) {
    await Promise.all([ started.mongo?.stop(), started.wechat?.close() ]);
    throw err;
  }
}

export async function acquireSandbox(options: SandboxBootOptions): Promise<void> {
  if (running) {
    running.users++;
    return;
  }
  const { mongo, wechat } = await startStandIns(options);
  running = { users: 1, mongo, wechat };
  if (mongo) {
    running.mongoOptions = { port: mongo.port, dbpath: options.mongo?.dbpath ? path.resolve(options.baseDir, options.mongo.dbpath) : undefined };
    process.env.SANDBOX_MONGO_URI = mongo.uri;
    options.log(`[sandbox] mongo: ${mongo.uri}${running.mongoOptions.dbpath ? ` (data in ${running.mongoOptions.dbpath})` : ' (in memory)'}`);
  }
  if (wechat) {
    process.env.SANDBOX_WECHAT_URL = wechat.url;
    options.log(`[sandbox] wechat: ${wechat.url}`);
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
