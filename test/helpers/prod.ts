import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { ROOT } from './process';

export { ROOT };
const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface ProdApp {
  baseUrl: string;
  title: string;
  stop(): Promise<void>;
}

/** Starts the compiled build (dist/) the way `npm start` does (scripts/instance.js), and waits until it serves. */
export async function startProd(opts: { title: string; port: number; workers: number; env: Record<string, string>; logDir?: string }): Promise<ProdApp> {
  const env = {
    ...process.env, ...opts.env,
    PORT: String(opts.port), WORKERS: String(opts.workers), APP_TITLE: opts.title, ...(opts.logDir ? { LOG_DIR: opts.logDir } : {}),
  };
  await run(process.execPath, [ 'scripts/instance.js', 'start' ], { cwd: ROOT, env, timeout: 120_000 });
  return {
    baseUrl: `http://127.0.0.1:${opts.port}`,
    title: opts.title,
    async stop() {
      await run(process.execPath, [ 'scripts/instance.js', 'stop' ], { cwd: ROOT, env, timeout: 60_000 });
    },
  };
}

/** PIDs and RSS (MiB) of the app workers of the instance with this title. */
export async function workerMemory(title: string): Promise<{ pid: number; rssMiB: number }[]> {
  const { stdout } = await run('ps', [ '-eo', 'pid=,rss=,args=' ]);
  return stdout.split('\n')
    .filter(line => line.includes('app_worker') && line.includes(`"title":"${title}"`))
    .map(line => line.trim().split(/\s+/))
    .map(([ pid, rss ]) => ({ pid: Number(pid), rssMiB: Math.round(Number(rss) / 1024) }));
}
