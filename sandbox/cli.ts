/**
 * `npm run sandbox -- [--mongo-port <port> [--dbpath <dir>] [--flush-ms <ms>] [--ttl-monitor-ms <ms>] [--auth user:password]] [--wechat-port <port>]`
 * Runs the stand-ins in the foreground until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startMongoSandbox } from './mongo/server';
import { startWeChatDouble } from './wechat/server';

interface Stoppable {
  stop(): Promise<void>;
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`sandbox: --${name} must be a non-negative integer, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'mongo-port': { type: 'string' },
      dbpath: { type: 'string' },
      'ttl-monitor-ms': { type: 'string' },
      'flush-ms': { type: 'string' },
      'wechat-port': { type: 'string' },
      auth: { type: 'string' },
    },
  });
  const running: Stoppable[] = [];
  const mongoPort = intOption(values['mongo-port'], 'mongo-port');
  const wechatPort = intOption(values['wechat-port'], 'wechat-port');
  if (mongoPort === undefined && wechatPort === undefined) {
    process.stderr.write('usage: npm run sandbox -- [--mongo-port <port> [--dbpath <dir>] [--flush-ms <ms>] [--ttl-monitor-ms <ms>] [--auth user:password]] [--wechat-port <port>]\n');
    process.exit(2);
  }
  let users: { username: string; password: string }[] | undefined;
  if (values.auth !== undefined) {
    const colon = values.auth.indexOf(':');
    if (colon < 1 || colon === values.auth.length - 1) {
      process.stderr.write('sandbox: --auth takes user:password\n');
      process.exit(2);
    }
    users = [{ username: values.auth.slice(0, colon), password: values.auth.slice(colon + 1) }];
  }
  if (mongoPort !== undefined) {
    const mongo = await startMongoSandbox({
      users,
      port: mongoPort,
      dbpath: values.dbpath,
      ttlMonitorMs: intOption(values['ttl-monitor-ms'], 'ttl-monitor-ms'),
      flushMs: intOption(values['flush-ms'], 'flush-ms'),
      log: line => process.stderr.write(`${line}\n`),
    });
    running.push(mongo);
    process.stdout.write(`mongo: ${mongo.uri}\n`);
  }
  if (wechatPort !== undefined) {
    const wechat = await startWeChatDouble({ port: wechatPort });
    running.push({ stop: () => wechat.close() });
    process.stdout.write(`wechat: ${wechat.url}\n`);
  }

  const shutdown = (): void => {
    Promise.all(running.map(r => r.stop())).then(() => process.exit(0), err => {
      process.stderr.write(`sandbox: shutdown failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch(err => {
  process.stderr.write(`sandbox: ${(err as Error).message}\n`);
  process.exit(1);
});
