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
import { ROOT } from '../test/helpers/prod';
import { printBeside, startSideBySide } from './harness';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 1200);
const FREQUENCY = 1999;
const TITLE = 'wxmp-bench-perf';
const OUT = path.join(ROOT, 'bench', 'profiles', 'perf');

/** Samples in a perf.data file, by area (the kernel, node's binary, JIT code, a library) and by `area symbol`. */
function samplesIn(file: string): { areas: Map<string, number>; symbols: Map<string, number>; total: number } {
  const report = execFileSync('perf', [ 'report', '-i', file, '--no-children', '--sort', 'dso,sym', '-g', 'none', '--stdio', '-F', 'sample,dso,sym' ], { maxBuffer: 256 * 1024 * 1024 }).toString();
  const areas = new Map<string, number>();
  const symbols = new Map<string, number>();
  let total = 0;
  for (const line of report.split('\n')) {
    const m = /^\s*(\d+)\s+(\S.*?)\s+\[.\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const samples = Number(m[1]);
    const area = m[2].startsWith('[JIT]') ? 'JIT code' : m[2] === '[kernel.kallsyms]' ? 'kernel' : m[2];
    const symbol = `${area} ${m[3].trim().replace(/\/.*\/(node_modules|dist)\//, '$1/')}`;
    total += samples;
    areas.set(area, (areas.get(area) ?? 0) + samples);
    symbols.set(symbol, (symbols.get(symbol) ?? 0) + samples);
  }
  return { areas, symbols, total };
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
  // The last egg-scripts argument before the directory must carry a value (a bare flag would take the directory as its value).
  const sides = await startSideBySide(TITLE, { appArgs: [ '--node-options--perf-basic-prof', '--node-options--stack-size=984' ], peerArgs: [ '--perf-basic-prof' ] });
  const { pids, infoUrls: urls, headers } = sides;
  try {
    const served = { app: 0, peer: 0 };
    for (const side of [ 'app', 'peer' ] as const) {
      await autocannon({ url: urls[side], headers, connections: 32, duration: 3 }); // warm-up
      const record = spawn('perf', [ 'record', '-e', 'cpu-clock', '-F', String(FREQUENCY), '-o', path.join(OUT, `${side}.data`), '-p', String(pids[side]), '--', 'sleep', String(DURATION_S) ], { stdio: 'ignore' });
      const result = await autocannon({ url: urls[side], headers, connections: 32, duration: DURATION_S, overallRate: RATE });
      await new Promise(resolve => record.once('exit', resolve));
      served[side] = result.requests.total;
      process.stdout.write(`perf: ${side}: ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx\n`);
    }
    const app = samplesIn(path.join(OUT, 'app.data'));
    const peer = samplesIn(path.join(OUT, 'peer.data'));
    const scale = { app: 1e6 / FREQUENCY / Math.max(1, served.app), peer: 1e6 / FREQUENCY / Math.max(1, served.peer) };
    process.stdout.write(`\nworker CPU per request: app ${(app.total * scale.app).toFixed(0)} µs, peer ${(peer.total * scale.peer).toFixed(0)} µs\n`);
    printBeside('by area', 'µs per request', { app: app.areas, peer: peer.areas }, scale, 10);
    printBeside('by symbol', 'µs per request', { app: app.symbols, peer: peer.symbols }, scale, 40);
    process.stdout.write(`\nperf.data: ${path.relative(ROOT, OUT)}/ (perf report -i <file>)\n`);
  } finally {
    await sides.stop();
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
