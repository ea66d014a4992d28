/**
 * `npm run bench:profile`: where a worker's CPU goes on `GET /user/info`, the app beside the
 * peer. Starts the production build and the peer with one worker each under `--cpu-prof`,
 * loads each with autocannon for BENCH_DURATION seconds (default 10), stops them (the
 * profiles are written on exit) and prints each worker's self time per request, grouped by
 * package (node_modules/<name>), the app's own code, Node's internals, GC and idle: the
 * difference between the two columns is what the app costs beyond the peer. The raw
 * `.cpuprofile` files stay in bench/profiles/ for Chrome DevTools or speedscope.
 */
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../test/helpers/prod';
import { cpuSeconds, frameGroup, loginRequests, printBeside, startSideBySide } from './harness';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TITLE = 'wxmp-bench-profile';
/**
 * BENCH_RATE=<req/s>: offer both the same fixed rate instead of as much as they take, so CPU
 * per request compares like with like (at saturation a slower server also batches less).
 */
const RATE = Number(process.env.BENCH_RATE ?? 0);
/** BENCH_ROUTE=login: profile the app's login (fresh single-use codes from the WeChat double) instead; no peer. */
const LOGIN = process.env.BENCH_ROUTE === 'login';

/** BENCH_CPU_PROF=0: no profiler, only each process's CPU time per request (for quick A/B runs). */
const PROFILE = process.env.BENCH_CPU_PROF !== '0';
const OUT = path.join(ROOT, 'bench', 'profiles');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The samples taken under load: the longest run of 100 ms bins that are mostly busy. The
 * process's start (module loading, compiling) is busy too but shorter, and apart from the
 * load by the login in between.
 */
function loadWindow(profile: CpuProfile, idle: Set<number>): [ number, number ] {
  const BIN = 100_000;
  const busy: number[] = [];
  const all: number[] = [];
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    const bin = Math.floor(t / BIN);
    all[bin] = (all[bin] ?? 0) + 1;
    if (!idle.has(id)) busy[bin] = (busy[bin] ?? 0) + 1;
  });
  let best: [ number, number ] = [ 0, 0 ];
  let start = -1;
  for (let b = 0; b <= all.length; b++) {
    const hot = b < all.length && (busy[b] ?? 0) > 0.5 * (all[b] ?? 0);
    if (hot && start < 0) start = b;
    if (!hot && start >= 0) {
      if (b - start > best[1] - best[0]) best = [ start, b ];
      start = -1;
    }
  }
  return [ best[0] * BIN, best[1] * BIN ];
}

/** Self time (µs) per group and per function under load, and the load's length in µs. */
function selfTimes(profile: CpuProfile): { groups: Map<string, number>; functions: Map<string, number>; total: number; span: number } {
  const byId = new Map(profile.nodes.map(n => [ n.id, n ]));
  const idle = new Set(profile.nodes.filter(n => n.callFrame.functionName === '(idle)').map(n => n.id));
  const [ from, to ] = loadWindow(profile, idle);
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let t = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t >= to || !node || idle.has(id)) return;
    total += dt;
    const group = frameGroup(node.callFrame);
    groups.set(group, (groups.get(group) ?? 0) + dt);
    const fn = `${group} ${node.callFrame.functionName || '(anonymous)'}:${node.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
  });
  return { groups, functions, total, span: to - from };
}

/** The profile this pid wrote on exit (file names end in .<pid>.<tid>.<seq>.cpuprofile), waited for up to 10 s. */
async function profileOf(dir: string, pid: number): Promise<CpuProfile> {
  for (let i = 0; i < 100; i++) {
    const file = fs.existsSync(dir) ? fs.readdirSync(dir).find(f => f.split('.')[3] === String(pid)) : undefined;
    if (file) return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`no profile for pid ${pid} in ${dir}`);
}

async function main(): Promise<void> {
  // BENCH_APP_DIR: a build made elsewhere (an A/B against another commit); otherwise build dist/ now.
  if (!process.env.BENCH_APP_DIR) execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'inherit' });
  fs.rmSync(OUT, { recursive: true, force: true });
  const appDir = path.join(OUT, 'app');
  const peerDir = path.join(OUT, 'peer');
  // egg-scripts passes --node-options--<flag> to the master, whose workers inherit it.
  const sides = await startSideBySide(TITLE, {
    appDir: process.env.BENCH_APP_DIR,
    appArgs: [
      ...PROFILE ? [ '--node-options--cpu-prof', `--node-options--cpu-prof-dir=${appDir}` ] : [],
      ...process.env.BENCH_APP_ARGS ? process.env.BENCH_APP_ARGS.split(' ') : [],
    ],
    peerArgs: PROFILE ? [ '--cpu-prof', `--cpu-prof-dir=${peerDir}` ] : [],
  });
  const { sandbox, pids: workers } = sides;
  const rate: Record<'app' | 'peer', number> = { app: 0, peer: 0 };
  try {
    const targets: (readonly [ 'app' | 'peer', string ])[] = LOGIN
      ? [[ 'app', `${sides.app.baseUrl}/api/v1/mp/account/user/auth` ]]
      : [[ 'app', sides.infoUrls.app ], [ 'peer', sides.infoUrls.peer ]];
    const load = LOGIN ? await loginRequests(sandbox.urls.wechat, 60_000) : { headers: sides.headers };
    for (const [ name, url ] of process.env.BENCH_PEER_FIRST ? [ ...targets ].reverse() : targets) {
      const pids = { worker: workers[name], database: sandbox.child.pid ?? 0, autocannon: process.pid };
      const before = Object.fromEntries(Object.entries(pids).map(([ k, pid ]) => [ k, cpuSeconds(pid) ]));
      await autocannon({ url, ...load, connections: CONNECTIONS, duration: 2 }); // warm-up
      const result = await autocannon({ url, ...load, connections: CONNECTIONS, duration: DURATION_S, ...(RATE ? { overallRate: RATE } : {}) });
      rate[name] = result.requests.average;
      const cpu = Object.entries(pids).map(([ k, pid ]) => `${k} ${((cpuSeconds(pid) - before[k]) / result.requests.total * 1e6).toFixed(0)}`);
      process.stdout.write(`profile: ${name}: ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx; CPU µs per request: ${cpu.join(', ')}\n`);
    }
  } finally {
    await sides.stop();
  }
  if (!PROFILE) return;
  const a = selfTimes(await profileOf(appDir, workers.app));
  const empty = { groups: new Map<string, number>(), functions: new Map<string, number>(), total: 0, span: 0 };
  const p = LOGIN ? empty : selfTimes(await profileOf(peerDir, workers.peer));
  // Requests served inside each profile's load window (the window is cut to 100 ms bins).
  const served = { app: rate.app * (a.span / 1e6), peer: rate.peer * (p.span / 1e6) };
  process.stdout.write(`load windows: app ${(a.span / 1e6).toFixed(1)} s, peer ${(p.span / 1e6).toFixed(1)} s\n`);
  const scale = { app: 1 / Math.max(1, served.app), peer: 1 / Math.max(1, served.peer) };
  process.stdout.write(`\nbusy CPU per request: app ${(a.total * scale.app).toFixed(1)} µs, peer ${(p.total * scale.peer).toFixed(1)} µs\n`);
  printBeside('by package', 'self µs per request', { app: a.groups, peer: p.groups }, scale, 25);
  printBeside('by function', 'self µs per request', { app: a.functions, peer: p.functions }, scale, 40);
  process.stdout.write(`\nprofiles: ${path.relative(ROOT, OUT)}/ (open in Chrome DevTools or speedscope)\n`);
}

main().catch(err => {
  process.stderr.write(`profile: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
