/**
 * `npm run bench`: builds, starts the production build with 2 workers against the sandbox
 * (MongoDB + WeChat double in their own process) and, beside it, the peer (bench/peer.ts: a
 * minimal Koa implementation of GET /user/info, 2 workers, same database, same user, same
 * token), and measures with autocannon in alternating rounds: the app's info and the peer's,
 * the app's bare JWT route (its framework ceiling), and login. Writes bench/results.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, ROOT, startProd, workerMemory, type ProdApp } from '../test/helpers/prod';
import { spawnSandbox, waitExit, type SandboxProcess } from '../test/helpers/process';
import { appEnv, benchUser, cpuSeconds, loginRequests, median, medianRss, sampleRss, startPeer } from './harness';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
/** bare and info alternate this many times; the table shows each one's median round. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Seconds of info load each side gets before the rounds. */
const WARM_UP_S = Number(process.env.BENCH_WARM_UP ?? 30);
const TITLE = 'wxmp-bench';

interface Row {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU µs per request of each worker of the side measured (how the load was split between them). */
  workerCpu: number[];
}

/**
 * One autocannon run; `workers` are the pids of the side's workers, whose CPU time per
 * request is recorded (steadier than req/s on a shared host, and it shows a worker left idle).
 */
async function measure(name: string, opts: autocannon.Options, workers: number[] = []): Promise<Row> {
  const before = workers.map(cpuSeconds);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts });
  const served = Math.max(1, result.requests.total);
  const row = {
    name,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    workerCpu: workers.map((pid, i) => Math.round((cpuSeconds(pid) - before[i]) * 1e6 / served)),
  };
  const cpu = row.workerCpu.length ? `, worker CPU µs per request ${row.workerCpu.join(' + ')}` : '';
  process.stdout.write(`bench: ${name}: ${row.reqPerSec} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}${cpu}\n`);
  return row;
}

async function main(): Promise<void> {
  process.stdout.write('bench: building dist/\n');
  execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'inherit' });
  const [ mongoPort, wechatPort, appPort ] = [ await freePort(), await freePort(), await freePort() ];
  let sandbox: SandboxProcess | undefined;
  let app: ProdApp | undefined;
  let peer: { child: ChildProcessWithoutNullStreams; pids: number[] } | undefined;
  try {
    sandbox = await spawnSandbox([ '--mongo-port', String(mongoPort), '--wechat-port', String(wechatPort) ], [ 'mongo', 'wechat' ]);
    const wechatUrl = sandbox.urls.wechat;
    app = await startProd({
      title: TITLE,
      port: appPort,
      workers: 2,
      env: appEnv(`${sandbox.urls.mongo}/wxmp_bench`, wechatUrl),
    });
    const base = app.baseUrl;
    const token = await benchUser(base, wechatUrl);
    const authHeaders = { authorization: `Bearer ${token}` };

    // Warm both sides up (JIT tiers, V8's young generation growing to the allocation rate, the
    // driver's pool, the database) with the measured load before measuring. After 2 s the
    // first rounds of both sides ran at half the speed of the later ones; after 10 s the app's
    // still climbed for three rounds (1520 → 2945 req/s) while the peer's were flat. After
    // 30 s both are (app 2571–3034, peer 4069–4855): steady state, what a server lives in.
    const warmUp = { connections: CONNECTIONS, duration: WARM_UP_S, headers: authHeaders };
    await autocannon({ url: `${base}/api/v1/mp/account/user/info`, ...warmUp });

    // Alternate the two so machine noise (2 cores shared with the load generator and the
    // sandbox) hits both alike; keep each one's median round.
    const peerPort = await freePort();
    peer = await startPeer(peerPort, `${sandbox.urls.mongo}/wxmp_bench`, 2);
    const peerUrl = `http://127.0.0.1:${peerPort}/api/v1/mp/account/user/info`;
    const check = await (await fetch(peerUrl, { headers: authHeaders })).text();
    const appAnswer = await (await fetch(`${base}/api/v1/mp/account/user/info`, { headers: authHeaders })).text();
    if (check !== appAnswer) throw new Error(`the peer answers differently:\n${check}\n${appAnswer}`);
    await autocannon({ url: peerUrl, ...warmUp });

    const bareRounds: Row[] = [];
    const infoRounds: Row[] = [];
    const peerRounds: Row[] = [];
    // Each side's worker RSS, sampled while it serves info.
    const appWorkers = (await workerMemory(TITLE)).map(w => w.pid);
    const appRss = new Map<number, number[]>();
    const peerRss = new Map<number, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      infoRounds.push(await sampleRss(appWorkers, appRss, measure('app: GET /user/info', { url: `${base}/api/v1/mp/account/user/info`, headers: authHeaders }, appWorkers)));
      peerRounds.push(await sampleRss(peer.pids, peerRss, measure('peer (minimal Koa): GET /user/info', { url: peerUrl, headers: authHeaders }, peer.pids)));
      bareRounds.push(await measure('app: bare JWT route (GET /session)', { url: `${base}/api/v1/mp/account/session`, headers: authHeaders }));
    }
    const bare = medianRound(bareRounds);
    const info = medianRound(infoRounds);
    const peerInfo = medianRound(peerRounds);

    // Login needs a fresh single-use code per request: many users, codes issued up front.
    const login = await measure('POST /user/auth (login, WeChat double)', {
      url: `${base}/api/v1/mp/account/user/auth`,
      ...await loginRequests(wechatUrl, 40_000),
    });
    writeResults({ info, peerInfo, bare, login }, { app: infoRounds, peer: peerRounds }, medianRss(appRss), medianRss(peerRss));
  } finally {
    if (peer) {
      peer.child.kill('SIGTERM');
      await waitExit(peer.child);
    }
    await app?.stop().catch(err => process.stderr.write(`bench: stop failed: ${(err as Error).message}\n`));
    if (sandbox) {
      sandbox.child.kill('SIGTERM');
      await waitExit(sandbox.child);
    }
  }
}

/** The round whose throughput is the median. */
function medianRound(rows: Row[]): Row {
  return [ ...rows ].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(rows.length / 2)];
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

function writeResults(rows: { info: Row; peerInfo: Row; bare: Row; login: Row }, rounds: { app: Row[]; peer: Row[] }, memory: { pid: number; rssMiB: number }[], peerMemory: { pid: number; rssMiB: number }[]): void {
  const { info, peerInfo, bare, login } = rows;
  const appCpu = median(rounds.app.map(r => sum(r.workerCpu)));
  const peerCpu = median(rounds.peer.map(r => sum(r.workerCpu)));
  const ratio = info.reqPerSec / peerInfo.reqPerSec;
  const p99Ratio = peerInfo.p99 > 0 ? info.p99 / peerInfo.p99 : 0;
  const avg = (m: { rssMiB: number }[]) => m.reduce((a, b) => a + b.rssMiB, 0) / Math.max(1, m.length);
  const rssRatio = avg(memory) / Math.max(1, avg(peerMemory));
  const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()}: the app's production build (\`dist/\`, 2 workers) and the`,
    'peer (`bench/peer.ts`: minimal Koa, node:cluster with 2 workers, jsonwebtoken with a KeyObject, the same MongoDB',
    'driver, one findOne by _id with a projection, the same JSON answer), same sandbox MongoDB, same user and token;',
    `autocannon ${CONNECTIONS} connections x ${DURATION_S} s per run after ${WARM_UP_S} s of warm-up for each side; app info, peer info and the app's bare route alternate`,
    `${ROUNDS} times and each row is its median run; all on one ${os.cpus().length}-core machine (load generator and database included).`,
    '',
    'RSS per worker: the median of samples taken every 250 ms while that side served info.',
    '',
    '| | req/s | p50 ms | p99 ms | non-2xx | errors | RSS per worker |',
    '|---|---:|---:|---:|---:|---:|---|',
    `| app: GET /user/info | ${info.reqPerSec} | ${info.p50} | ${info.p99} | ${info.non2xx} | ${info.errors} | ${memory.map(m => `${m.rssMiB} MiB`).join(', ')} |`,
    `| peer: GET /user/info | ${peerInfo.reqPerSec} | ${peerInfo.p50} | ${peerInfo.p99} | ${peerInfo.non2xx} | ${peerInfo.errors} | ${peerMemory.map(m => `${m.rssMiB} MiB`).join(', ')} |`,
    `| app: bare JWT route (GET /session) | ${bare.reqPerSec} | ${bare.p50} | ${bare.p99} | ${bare.non2xx} | ${bare.errors} | |`,
    `| app: POST /user/auth (login, WeChat double) | ${login.reqPerSec} | ${login.p50} | ${login.p99} | ${login.non2xx} | ${login.errors} | |`,
    '',
    `- **info throughput, app / peer: ${ratio.toFixed(2)}** (goal ≥ 0.90: ${goal(ratio >= 0.9)})`,
    `- **info p99, app / peer: ${p99Ratio.toFixed(2)}** (goal ≤ 1.25: ${goal(p99Ratio <= 1.25)})`,
    `- **RSS per worker, app / peer: ${rssRatio.toFixed(2)}** (goal ≤ 1.25: ${goal(rssRatio <= 1.25)})`,
    `- workers' CPU per info request (both workers, median round): app ${appCpu} µs, peer ${peerCpu} µs (${(appCpu / Math.max(1, peerCpu)).toFixed(2)})`,
    '',
    '## Every info round',
    '',
    'Worker CPU µs per request is each worker\'s CPU time in the round over the requests the side served: a worker',
    'near 0 got few of the connections (egg-scripts\' workers accept their own; the peer\'s master deals them out).',
    '',
    '| round | app req/s | peer req/s | app / peer | app p99 ms | peer p99 ms | app worker CPU µs/req | peer worker CPU µs/req |',
    '|---:|---:|---:|---:|---:|---:|---|---|',
    ...rounds.app.map((a, i) => {
      const p = rounds.peer[i];
      return `| ${i + 1} | ${a.reqPerSec} | ${p.reqPerSec} | ${(a.reqPerSec / Math.max(1, p.reqPerSec)).toFixed(2)} | ${a.p99} | ${p.p99} | ${a.workerCpu.join(' + ')} | ${p.workerCpu.join(' + ')} |`;
    }),
    '',
  ];
  fs.writeFileSync(path.join(ROOT, 'bench', 'results.md'), lines.join('\n'));
  process.stdout.write(`bench: wrote bench/results.md (info app/peer ${ratio.toFixed(2)}, p99 ${p99Ratio.toFixed(2)}, RSS ${rssRatio.toFixed(2)})\n`);
}

main().catch(err => {
  process.stderr.write(`bench: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
