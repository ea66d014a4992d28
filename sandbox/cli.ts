/**
 * `npm run sandbox -- --mongo-port <port> [--dbpath <dir>] [--ttl-monitor-ms <ms>]`
 * Runs the stand-ins in the foreground until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startMongoSandbox, type MongoSandbox } from './mongo/server';

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
    },
  });
  const running: Stoppable[] = [];
  const mongoPort = intOption(values['mongo-port'], 'mongo-port');
  if (mongoPort === undefined) {
    process.stderr.write('usage: npm run sandbox -- --mongo-port <port> [--dbpath <dir>] [--ttl-monitor-ms <ms>]\n');
    process.exit(2);
  }
  const mongo: MongoSandbox = await startMongoSandbox({
    port: mongoPort,
    dbpath: values.dbpath,
    ttlMonitorMs: intOption(values['ttl-monitor-ms'], 'ttl-monitor-ms'),
    log: line => process.stderr.write(`${line}\n`),
  });
  running.push(mongo);
  process.stdout.write(`mongo: ${mongo.uri}\n`);

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
