/**
 * `npm run soak -- --minutes N`: the deployment test's mixed load (logins, info, bindPhone,
 * refreshToken) against one production instance (2 workers) for N minutes, sampling each
 * worker's RSS and V8 heap every 10 s. Writes bench/soak.md with the samples and each
 * worker's slope per hour after warm-up (a fifth of the run, at least 2 minutes): above
 * 5 MiB/hour is a leak to find. Not in CI (it takes as long as it is asked to).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { spawnSandbox, waitExit } from '../test/helpers/process';
import { freePort, ROOT, startProd, workerMemory } from '../test/helpers/prod';
import { MixedLoad, p99 } from '../test/helpers/mixed_load';
import { appEnv } from './harness';

const SAMPLE_MS = 10_000;
const KEY = 'soak-metrics-key-0123456789abcdef0123456789';

interface Sample { at: number; pid: number; rssMiB: number; heapMiB: number }

/** Least-squares slope of value over time, in units per hour. */
function slopePerHour(points: { at: number; v: number }[]): number {
  if (points.length < 3) return 0;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.at, 0) / n;
  const my = points.reduce((a, p) => a + p.v, 0) / n;
  const num = points.reduce((a, p) => a + (p.at - mx) * (p.v - my), 0);
  const den = points.reduce((a, p) => a + (p.at - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

async function heapByWorker(base: string): Promise<Map<number, number>> {
  const text = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${KEY}` } }).then(r => r.text(), () => '');
  const heaps = new Map<number, number>();
  for (const m of text.matchAll(/^nodejs_heap_size_used_bytes\{worker="(\d+)"\} (\d+(?:\.\d+)?)/gm)) heaps.set(Number(m[1]), Number(m[2]) / 1048576);
  return heaps;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' } } });
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
  process.stdout.write(`soak: building dist/, then ${minutes} min of mixed load against one instance (2 workers)\n`);
  execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'inherit' });
  const mongoPort = await freePort();
  const sandbox = await spawnSandbox([ '--mongo-port', String(mongoPort), '--wechat-port', '0' ], [ 'mongo', 'wechat' ]);
  const port = await freePort();
  const title = `wxmp-soak-${port}`;
  const app = await startProd({
    title, port, workers: 2,
    env: { ...appEnv(`mongodb://127.0.0.1:${mongoPort}/wxmp_soak`, sandbox.urls.wechat), RATE_LIMIT_USER_PER_MINUTE: '100000000', INTERNAL_API_KEYS: `soak:${KEY}:metrics` },
  });
  const load = new MixedLoad({ base: app.baseUrl, wechat: sandbox.urls.wechat, appid: 'wxsandbox0000000001', users: 8, prefix: 'o_soak_', pauseMs: 10 });
  const samples: Sample[] = [];
  const started = Date.now();
  const sample = async () => {
    const heaps = await heapByWorker(app.baseUrl);
    for (const { pid, rssMiB } of await workerMemory(title)) samples.push({ at: Date.now() - started, pid, rssMiB, heapMiB: Math.round((heaps.get(pid) ?? 0) * 10) / 10 });
  };
  load.start();
  try {
    await sample();
    while (Date.now() - started < minutes * 60_000) {
      await new Promise(r => setTimeout(r, SAMPLE_MS));
      await sample();
      const last = samples.slice(-2);
      process.stdout.write(`soak: ${Math.round((Date.now() - started) / 1000)} s, ${load.outcomes.length} requests, ${last.map(s => `${s.pid}: ${s.rssMiB} MiB rss, ${s.heapMiB} MiB heap`).join('; ')}\n`);
    }
  } finally {
    await load.stop();
    await app.stop();
    sandbox.child.kill('SIGTERM');
    await waitExit(sandbox.child);
  }
  const warmUpMs = Math.max(120_000, minutes * 60_000 / 5);
  const pids = [ ...new Set(samples.map(s => s.pid)) ];
  const failures = load.failures().length;
  const rows = pids.map(pid => {
    const mine = samples.filter(s => s.pid === pid);
    const steady = mine.filter(s => s.at >= warmUpMs);
    const rss = slopePerHour(steady.map(s => ({ at: s.at, v: s.rssMiB })));
    const heap = slopePerHour(steady.map(s => ({ at: s.at, v: s.heapMiB })));
    return `| ${pid} | ${mine[0]?.rssMiB} → ${mine.at(-1)?.rssMiB} | ${mine[0]?.heapMiB} → ${mine.at(-1)?.heapMiB} | ${rss.toFixed(1)} | ${heap.toFixed(1)} | ${rss > 5 ? 'growing: a leak to find' : 'no growth'} |`;
  });
  const byRoute: Record<string, number> = {};
  for (const o of load.outcomes) byRoute[o.route] = (byRoute[o.route] ?? 0) + 1;
  const md = [
    '# Soak: memory over a long run',
    '',
    `\`npm run soak -- --minutes ${minutes}\` on ${new Date().toISOString().slice(0, 10)}: one production instance (2 workers), 8 virtual users looping`,
    'login → info → bindPhone → refreshToken against it (the sandbox MongoDB and WeChat double on the same 2-core machine),',
    `sampled every ${SAMPLE_MS / 1000} s. Slopes are least-squares fits after ${Math.round(warmUpMs / 60_000)} minutes of warm-up; above 5 MiB/hour is a leak to find.`,
    '',
    `${load.outcomes.length} requests (${Object.entries(byRoute).map(([ r, n ]) => `${r} ${n}`).join(', ')}), ${failures} failed, p99 ${p99(load.outcomes.map(o => o.ms))} ms.`,
    '',
    '| worker | RSS MiB (first → last) | heap MiB (first → last) | RSS slope MiB/h | heap slope MiB/h | |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '<details><summary>samples (s, pid, RSS MiB, heap MiB)</summary>',
    '',
    '```',
    ...samples.map(s => `${Math.round(s.at / 1000)} ${s.pid} ${s.rssMiB} ${s.heapMiB}`),
    '```',
    '</details>',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(ROOT, 'bench', 'soak.md'), md);
  process.stdout.write(`soak: wrote bench/soak.md\n${rows.join('\n')}\n`);
}

main().catch(err => {
  process.stderr.write(`soak: FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
