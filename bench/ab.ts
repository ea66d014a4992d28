/**
 * `npm run bench:ab -- <dirA> <dirB>`: which of two builds costs a worker less CPU per
 * `GET /user/info`. Both run at the same time (one worker each, same sandbox, same user),
 * each offered the same fixed rate by its own autocannon, so the host's noise (which moves
 * a run by ±10 % on this VM) hits both alike; each round reports each worker's CPU µs per
 * request from /proc and B / A. Make the second build from a worktree of another commit
 * (`git worktree add /tmp/b <rev> && ln -s $PWD/node_modules /tmp/b/ && (cd /tmp/b && node
 * scripts/build.js)`). BENCH_RATE (per build, default 600), BENCH_DURATION (s, default 8),
 * BENCH_ROUNDS (default 5).
 */
import autocannon from 'autocannon';
import { freePort, workerMemory } from '../test/helpers/prod';
import { spawnSandbox } from '../test/helpers/process';
import { appEnv, benchUser, cpuSeconds, median, startEgg, stopAll } from './harness';

const RATE = Number(process.env.BENCH_RATE ?? 600);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function main(): Promise<void> {
  const dirs = process.argv.slice(2);
  if (dirs.length !== 2) throw new Error('usage: npm run bench:ab -- <build dir A> <build dir B>');
  const sandbox = await spawnSandbox([ '--mongo-port', String(await freePort()), '--wechat-port', String(await freePort()) ], [ 'mongo', 'wechat' ]);
  const env = appEnv(`${sandbox.urls.mongo}/wxmp_bench`, sandbox.urls.wechat);
  const apps = [];
  try {
    for (const [ i, dir ] of dirs.entries()) apps.push(startEgg(`wxmp-bench-ab-${i}`, dir, await freePort(), 1, [], env));
    const workers = await Promise.all(apps.map(async (_, i) => (await workerMemory(`wxmp-bench-ab-${i}`))[0].pid));
    const token = await benchUser(apps[0].baseUrl, sandbox.urls.wechat);
    const targets = apps.map(app => ({ url: `${app.baseUrl}/api/v1/mp/account/user/info`, headers: { authorization: `Bearer ${token}` }, connections: 16 }));
    await Promise.all(targets.map(t => autocannon({ ...t, duration: 5 }))); // warm-up (the JIT settles)
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = workers.map(cpuSeconds);
      const results = await Promise.all(targets.map(t => autocannon({ ...t, duration: DURATION_S, overallRate: RATE })));
      const perRequest = workers.map((pid, i) => (cpuSeconds(pid) - before[i]) / results[i].requests.total * 1e6);
      const bad = results.reduce((n, r) => n + r.non2xx + r.errors, 0);
      ratios.push(perRequest[1] / perRequest[0]);
      process.stdout.write(`ab: round ${round + 1}: A ${perRequest[0].toFixed(0)} µs, B ${perRequest[1].toFixed(0)} µs per request, B/A ${ratios[round].toFixed(3)}${bad ? `, ${bad} failed` : ''}\n`);
    }
    process.stdout.write(`ab: B/A median ${median(ratios).toFixed(3)} (range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})\n`);
  } finally {
    await stopAll(apps, undefined, sandbox);
  }
}

main().catch(err => {
  process.stderr.write(`ab: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
