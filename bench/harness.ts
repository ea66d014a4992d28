/** What bench/run.ts and bench/profile.ts share: the peer, the user and token, RSS readings. */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type autocannon from 'autocannon';
import ts from 'typescript';
import { freePort, ROOT, workerMemory } from '../test/helpers/prod';
import { childEnv, spawnSandbox, waitExit, type SandboxProcess } from '../test/helpers/process';

export const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';
export const APPID = 'wxsandbox0000000001';

/** The app's environment in every bench: the sandbox's database and WeChat double. */
export function appEnv(mongoUri: string, wechatUrl: string): Record<string, string> {
  return {
    MONGODB_URI: mongoUri, WXMP_APPID: APPID, WXMP_SECRET: 'sandbox-app-secret', WXMP_API_BASE: wechatUrl, JWT_SECRET,
    // The bench logs in from one address far faster than people do; the limiter still counts
    // every login in MongoDB, so its cost is measured.
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000000',
  };
}

/** A build (dist/ or another) with one or more workers, started by egg-scripts as `npm start` does. */
export function startEgg(title: string, dir: string, port: number, workers: number, args: string[], env: Record<string, string>): { baseUrl: string; stop(): void } {
  const eggScripts = path.join(ROOT, 'node_modules', '.bin', 'egg-scripts');
  const opts = { cwd: ROOT, env: childEnv({ ...env, NODE_CLUSTER_SCHED_POLICY: 'none' }), stdio: 'inherit' as const };
  execFileSync(eggScripts, [ 'start', '--daemon', `--title=${title}`, '--env=prod', `--port=${port}`, `--workers=${workers}`, ...args, dir ], opts);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop() {
      execFileSync(eggScripts, [ 'stop', `--title=${title}` ], opts);
    },
  };
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

export async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return await res.json() as T;
}

/** Logs the bench user in through the app (profile from encrypted data); answers its token. */
export async function benchUser(appBase: string, wechatUrl: string): Promise<string> {
  const { code } = await post<{ code: string }>(`${wechatUrl}/sandbox/login`, { appid: APPID, openid: 'bench-user' });
  const { encryptedData, iv } = await post<{ encryptedData: string; iv: string }>(`${wechatUrl}/sandbox/encrypt`, { appid: APPID, openid: 'bench-user', data: { nickName: 'bench', city: 'Shenzhen' } });
  const { token } = await post<{ token: string }>(`${appBase}/api/v1/mp/account/user/auth`, { jscode: code, encryptedData, iv });
  return token;
}

/**
 * Starts bench/peer.ts, compiled to plain JS first (ts-node in the process would load the
 * TypeScript compiler and inflate its memory); resolves with its worker pids once every
 * worker listens.
 */
export function startPeer(port: number, mongoUri: string, workers: number, nodeArgs: string[] = []): Promise<{ child: ChildProcessWithoutNullStreams; pids: number[] }> {
  const source = fs.readFileSync(path.join(ROOT, 'bench', 'peer.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  fs.writeFileSync(path.join(ROOT, 'bench', 'peer.compiled.js'), js);
  const child = spawn(process.execPath, [ ...nodeArgs, 'bench/peer.compiled.js' ], {
    cwd: ROOT, env: childEnv({ PORT: String(port), MONGODB_URI: mongoUri, JWT_SECRET, WORKERS: String(workers), NODE_ENV: 'production' }),
  });
  const pids: number[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('peer did not start')), 30_000);
    child.stderr.on('data', d => process.stderr.write(String(d)));
    child.stdout.on('data', d => {
      for (const m of String(d).matchAll(/peer: (\d+)/g)) pids.push(Number(m[1]));
      if (pids.length === workers) {
        clearTimeout(timer);
        resolve({ child, pids });
      }
    });
  });
}

/** RSS (MiB) of these processes, read from /proc (cheap enough to sample while autocannon runs in this process). */
function rssOf(pids: number[]): { pid: number; rssMiB: number }[] {
  return pids.map(pid => {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { pid, rssMiB: Math.round(Number(kib?.[1] ?? 0) / 1024) };
  });
}

/**
 * Samples the processes' RSS every 250 ms while `load` runs; answers the samples per pid.
 * RSS read once after a run depends on whether a full GC happened to run just before; the
 * samples across the runs show the memory a worker holds while it serves.
 */
export async function sampleRss<T>(pids: number[], samples: Map<number, number[]>, load: Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    for (const { pid, rssMiB } of rssOf(pids)) {
      const values = samples.get(pid) ?? [];
      values.push(rssMiB);
      samples.set(pid, values);
    }
  }, 250);
  try {
    return await load;
  } finally {
    clearInterval(timer);
  }
}

/** The middle value (the upper one of an even count); 0 for none. */
export function median(values: number[]): number {
  return [ ...values ].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

/** The median of each pid's samples. */
export function medianRss(samples: Map<number, number[]>): { pid: number; rssMiB: number }[] {
  return [ ...samples ].map(([ pid, values ]) => ({ pid, rssMiB: median(values) }));
}

/** POST /user/auth requests, each with its own single-use code. */
export async function loginRequests(wechatUrl: string, count: number): Promise<Pick<autocannon.Options, 'method' | 'headers' | 'requests'>> {
  const codes: string[] = [];
  for (let u = 0; codes.length < count; u++) {
    codes.push(...(await post<{ codes: string[] }>(`${wechatUrl}/sandbox/login`, { appid: APPID, openid: `bench-login-${u}`, count: 60 })).codes);
  }
  let next = 0;
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: req => ({ ...req, body: JSON.stringify({ jscode: codes[next++ % codes.length] }) }) }],
  };
}

/**
 * Where a profile frame's cost is counted: its package (node_modules/<name>), the app's file
 * (dist/...), the peer, a Node module, or V8/native ((garbage collector), (program), ...).
 */
export function frameGroup({ url, functionName }: { url: string; functionName: string }): string {
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  if (url.includes('/dist/')) return `app: ${url.slice(url.indexOf('/dist/') + 6)}`;
  if (url.includes('/bench/')) return `peer: ${path.basename(url)}`;
  return url;
}

/** Stops what a bench started: the app builds, the peer, then the sandbox (the others use it). */
export async function stopAll(apps: { stop(): void }[], peer: { child: ChildProcessWithoutNullStreams } | undefined, sandbox: { child: ChildProcessWithoutNullStreams }): Promise<void> {
  for (const app of apps) app.stop();
  if (peer) {
    peer.child.kill('SIGTERM');
    await waitExit(peer.child);
  }
  sandbox.child.kill('SIGTERM');
  await waitExit(sandbox.child);
}

/** The production build and the peer, one worker each, on one sandbox, the bench user logged in. */
export interface SideBySide {
  sandbox: SandboxProcess;
  app: { baseUrl: string; stop(): void };
  peer: { child: ChildProcessWithoutNullStreams; pids: number[] };
  /** Each side's worker. */
  pids: { app: number; peer: number };
  /** Each side's GET /user/info. */
  infoUrls: { app: string; peer: string };
  /** The bench user's Authorization header. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts what bench:profile, bench:alloc and bench:perf compare: the sandbox, the app's build
 * (`appDir`, default dist/, with egg-scripts `appArgs`) and the peer (node `peerArgs`), one
 * worker each. If a step fails, what it had started is stopped.
 */
export async function startSideBySide(title: string, opts: { appDir?: string; appArgs?: string[]; peerArgs?: string[] } = {}): Promise<SideBySide> {
  const sandbox = await spawnSandbox([ '--mongo-port', String(await freePort()), '--wechat-port', String(await freePort()) ], [ 'mongo', 'wechat' ]);
  const mongoUri = `${sandbox.urls.mongo}/wxmp_bench`;
  let app: SideBySide['app'] | undefined;
  let peer: SideBySide['peer'] | undefined;
  try {
    app = startEgg(title, opts.appDir ?? 'dist', await freePort(), 1, opts.appArgs ?? [], appEnv(mongoUri, sandbox.urls.wechat));
    const peerPort = await freePort();
    peer = await startPeer(peerPort, mongoUri, 1, opts.peerArgs ?? []);
    const [ appWorker ] = await workerMemory(title);
    const token = await benchUser(app.baseUrl, sandbox.urls.wechat);
    const started = { app, peer };
    return {
      sandbox, ...started,
      pids: { app: appWorker.pid, peer: peer.pids[0] },
      infoUrls: { app: `${app.baseUrl}/api/v1/mp/account/user/info`, peer: `http://127.0.0.1:${peerPort}/api/v1/mp/account/user/info` },
      headers: { authorization: `Bearer ${token}` },
      stop: () => stopAll([ started.app ], started.peer, sandbox),
    };
  } catch (err) {
    await stopAll(app ? [ app ] : [], peer, sandbox);
    throw err;
  }
}

/**
 * One table of a comparison: each key's total times its side's `scale` (per request, in
 * `unit`), the app beside the peer, the `rows` keys where the app exceeds the peer most.
 */
export function printBeside(title: string, unit: string, totals: { app: Map<string, number>; peer: Map<string, number> }, scale: { app: number; peer: number }, rows: number, digits = 1): void {
  const value = (side: 'app' | 'peer', key: string) => (totals[side].get(key) ?? 0) * scale[side];
  const gap = (key: string) => value('app', key) - value('peer', key);
  const keys = [ ...new Set([ ...totals.app.keys(), ...totals.peer.keys() ]) ].sort((x, y) => gap(y) - gap(x)).slice(0, rows);
  process.stdout.write(`\n${title} (${unit}; sorted by app - peer)\n${'app'.padStart(8)} ${'peer'.padStart(8)}  where\n`);
  for (const key of keys) process.stdout.write(`${value('app', key).toFixed(digits).padStart(8)} ${value('peer', key).toFixed(digits).padStart(8)}  ${key}\n`);
}
