/**
 * `npm run bench:perf`: where a worker's whole CPU time goes, kernel and V8's own C++
 * included (the V8 profiler of bench:profile shows those only as "(program)" and
 * "(garbage collector)"). The production build and the peer run with one worker each
 * under `--perf-basic-prof` (so perf can name JIT-compiled JavaScript). Both get the same
 * fixed rate of info requests (BENCH_RATE, default 1200 req/s), and `perf record` samples
 * each worker, all its threads, for BENCH_DURATION seconds. It prints µs per request by
 * area (kernel, node's binary: V8 and Node in C++, JIT code, libc), then the symbols that
 * differ most. Needs Linux `perf` (package linux-perf); the perf.data files stay in
 * bench/profiles/perf/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, ROOT, workerMemory } from '../test/helpers/prod';
import { spawnSandbox } from '../test/helpers/process';
import { appEnv, benchUser, startEgg, startPeer, stopAll } from './harness';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 1200);
const FREQUENCY = 1999;
const TITLE = 'wxmp-bench-perf';
const OUT = path.join(ROOT, 'bench', 'profiles', 'perf');

/** Samples per symbol (`area symbol`) in a perf.data file. */
function samplesBySymbol(file: string): Map<string, number> {
  const report = execFileSync('perf', [ 'report', '-i', file, '--no-children', '--sort', 'dso,sym', '-g', 'none', '--stdio', '-F', 'sample,dso,sym' ], { maxBuffer: 256 * 1024 * 1024 }).toString();
  const counts = new Map<string, number>();
  for (const line of report.split('\n')) {
    const m = /^\s*(\d+)\s+(\S.*?)\s+\[.\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const dso = m[2].startsWith('[JIT]') ? 'JIT code' : m[2] === '[kernel.kallsyms]' ? 'kernel' : m[2];
    const key = `${dso}\t${m[3].trim().replace(/\/.*\/(node_modules|dist)\//, '$1/')}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[1]));
  }
  return counts;
}

function byArea(counts: Map<string, number>): Map<string, number> {
  const areas = new Map<string, number>();
  for (const [ key, n ] of counts) {
    const area = key.split('\t')[0];
    areas.set(area, (areas.get(area) ?? 0) + n);
  }
  return areas;
}

function printTable(title: string, app: Map<string, number>, peer: Map<string, number>, perRequest: { app: number; peer: number }, limit: number): void {
  const keys = [ ...new Set([ ...app.keys(), ...peer.keys() ]) ]
    .sort((a, b) => ((app.get(b) ?? 0) * perRequest.app - (peer.get(b) ?? 0) * perRequest.peer) - ((app.get(a) ?? 0) * perRequest.app - (peer.get(a) ?? 0) * perRequest.peer))
    .slice(0, limit);
  process.stdout.write(`\n${title} (µs per request; sorted by app - peer)\n${'app'.padStart(8)} ${'peer'.padStart(8)}  where\n`);
  for (const k of keys) {
    process.stdout.write(`${((app.get(k) ?? 0) * perRequest.app).toFixed(1).padStart(8)} ${((peer.get(k) ?? 0) * perRequest.peer).toFixed(1).padStart(8)}  ${k.replace('\t', ' ')}\n`);
  }
}

async function main(): Promise<void> {
  try {
    execFileSync('perf', [ '--version' ], { stdio: 'ignore' });
  } catch {
    throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
  }
  const started = Date.now();
  execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'inherit' });
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const sandbox = await spawnSandbox([ '--mongo-port', String(await freePort()), '--wechat-port', String(await freePort()) ], [ 'mongo', 'wechat' ]);
  const mongoUri = `${sandbox.urls.mongo}/wxmp_bench`;
  // The last egg-scripts argument before the directory must carry a value (a bare flag would take the directory as its value).
  const app = startEgg(TITLE, 'dist', await freePort(), 1, [ '--node-options--perf-basic-prof', '--node-options--stack-size=984' ], appEnv(mongoUri, sandbox.urls.wechat));
  const peerPort = await freePort();
  const peer = await startPeer(peerPort, mongoUri, 1, [ '--perf-basic-prof' ]);
  const pids = { app: (await workerMemory(TITLE))[0].pid, peer: peer.pids[0] };
  try {
    const token = await benchUser(app.baseUrl, sandbox.urls.wechat);
    const headers = { authorization: `Bearer ${token}` };
    const urls = { app: `${app.baseUrl}/api/v1/mp/account/user/info`, peer: `http://127.0.0.1:${peerPort}/api/v1/mp/account/user/info` };
    const served = { app: 0, peer: 0 };
    for (const side of [ 'app', 'peer' ] as const) {
      await autocannon({ url: urls[side], headers, connections: 32, duration: 3 }); // warm-up
      const record = spawn('perf', [ 'record', '-e', 'cpu-clock', '-F', String(FREQUENCY), '-o', path.join(OUT, `${side}.data`), '-p', String(pids[side]), '--', 'sleep', String(DURATION_S) ], { stdio: 'ignore' });
      const result = await autocannon({ url: urls[side], headers, connections: 32, duration: DURATION_S, overallRate: RATE });
      await new Promise(resolve => record.once('exit', resolve));
      served[side] = result.requests.total;
      process.stdout.write(`perf: ${side}: ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx\n`);
    }
    const appCounts = samplesBySymbol(path.join(OUT, 'app.data'));
    const peerCounts = samplesBySymbol(path.join(OUT, 'peer.data'));
    const perRequest = { app: 1e6 / FREQUENCY / served.app, peer: 1e6 / FREQUENCY / served.peer };
    const total = (m: Map<string, number>) => [ ...m.values() ].reduce((a, b) => a + b, 0);
    process.stdout.write(`\nworker CPU per request: app ${(total(appCounts) * perRequest.app).toFixed(0)} µs, peer ${(total(peerCounts) * perRequest.peer).toFixed(0)} µs\n`);
    printTable('by area', byArea(appCounts), byArea(peerCounts), perRequest, 10);
    printTable('by symbol', appCounts, peerCounts, perRequest, 40);
    process.stdout.write(`\nperf.data: ${path.relative(ROOT, OUT)}/ (perf report -i <file>)\n`);
  } finally {
    await stopAll([ app ], peer, sandbox);
    for (const pid of Object.values(pids)) fs.rmSync(`/tmp/perf-${pid}.map`, { force: true });
    // --perf-basic-prof also has each process (egg's master and agent too) write a V8 log into its working directory.
    for (const f of fs.readdirSync(ROOT)) {
      if (/^isolate-0x[0-9a-f]+-\d+-v8\.log$/.test(f) && fs.statSync(path.join(ROOT, f)).mtimeMs >= started) fs.rmSync(path.join(ROOT, f));
    }
  }
}

main().catch(err => {
  process.stderr.write(`perf: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
