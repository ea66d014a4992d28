/**
 * `npm run bench`: builds, starts the production build with 2 workers against the sandbox
 * (MongoDB + WeChat double in their own process), and measures with autocannon, side by
 * side: a bare JWT-protected route (the framework's ceiling), GET /user/info, and login.
 * Writes bench/results.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort, ROOT, startProd, workerMemory, type ProdApp } from '../test/helpers/prod';
import { spawnSandbox, waitExit, type SandboxProcess } from '../test/helpers/process';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
/** bare and info alternate this many times; the table shows each one's median round. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const APPID = 'wxsandbox0000000001';
const TITLE = 'wxmp-bench';

interface Row {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return await res.json() as T;
}

async function measure(name: string, opts: autocannon.Options): Promise<Row> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts });
  const row = {
    name,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  process.stdout.write(`bench: ${name}: ${row.reqPerSec} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}\n`);
  return row;
}

async function main(): Promise<void> {
  process.stdout.write('bench: building dist/\n');
  require('node:child_process').execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'inherit' });
  const [ mongoPort, wechatPort, appPort ] = [ await freePort(), await freePort(), await freePort() ];
  let sandbox: SandboxProcess | undefined;
  let app: ProdApp | undefined;
  try {
    sandbox = await spawnSandbox([ '--mongo-port', String(mongoPort), '--wechat-port', String(wechatPort) ], [ 'mongo', 'wechat' ]);
    const wechatUrl = sandbox.urls.wechat;
    app = await startProd({
      title: TITLE,
      port: appPort,
      workers: 2,
      env: {
        MONGODB_URI: `${sandbox.urls.mongo}/wxmp_bench`,
        WXMP_APPID: APPID,
        WXMP_SECRET: 'sandbox-app-secret',
        WXMP_API_BASE: wechatUrl,
        JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123456789',
        // The bench logs in from one address far faster than people do; the limiter still
        // counts every login in MongoDB, so its cost is measured.
        RATE_LIMIT_LOGIN_PER_MINUTE: '100000000',
      },
    });
    const base = app.baseUrl;
    const { code } = await post<{ code: string }>(`${wechatUrl}/sandbox/login`, { appid: APPID, openid: 'bench-user' });
    const { encryptedData, iv } = await post<{ encryptedData: string; iv: string }>(`${wechatUrl}/sandbox/encrypt`, { appid: APPID, openid: 'bench-user', data: { nickName: 'bench', city: 'Shenzhen' } });
    const { token } = await post<{ token: string }>(`${base}/api/v1/mp/account/user/auth`, { jscode: code, encryptedData, iv });
    const authHeaders = { authorization: `Bearer ${token}` };

    // Warm both workers up before measuring.
    await autocannon({ url: `${base}/api/v1/mp/account/user/info`, headers: authHeaders, connections: 10, duration: 2 });

    // Alternate the two so machine noise (2 cores shared with the load generator and the
    // sandbox) hits both alike; keep each one's median round.
    const bareRounds: Row[] = [];
    const infoRounds: Row[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRounds.push(await measure('bare JWT route (GET /session)', { url: `${base}/api/v1/mp/account/session`, headers: authHeaders }));
      infoRounds.push(await measure('GET /user/info', { url: `${base}/api/v1/mp/account/user/info`, headers: authHeaders }));
    }
    const bare = median(bareRounds);
    const info = median(infoRounds);

    // Login needs a fresh single-use code per request: many users, codes issued up front.
    const codes: string[] = [];
    for (let u = 0; codes.length < 40_000 && u < 1000; u++) {
      const r = await post<{ codes: string[] }>(`${wechatUrl}/sandbox/login`, { appid: APPID, openid: `bench-login-${u}`, count: 60 });
      codes.push(...r.codes);
    }
    let next = 0;
    const login = await measure('POST /user/auth (login, WeChat double)', {
      url: `${base}/api/v1/mp/account/user/auth`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      requests: [ { setupRequest: req => ({ ...req, body: JSON.stringify({ jscode: codes[next++ % codes.length] }) }) } ],
    });
    const memory = await workerMemory(TITLE);
    writeResults([ bare, info, login ], memory);
  } finally {
    await app?.stop().catch(err => process.stderr.write(`bench: stop failed: ${(err as Error).message}\n`));
    if (sandbox) {
      sandbox.child.kill('SIGTERM');
      await waitExit(sandbox.child);
    }
  }
}

function median(rows: Row[]): Row {
  return [ ...rows ].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(rows.length / 2)];
}

function writeResults(rows: Row[], memory: { pid: number; rssMiB: number }[]): void {
  const [ bare, info ] = rows;
  const ratio = info.reqPerSec / bare.reqPerSec;
  const p99Ratio = bare.p99 > 0 ? info.p99 / bare.p99 : 0;
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()}: production build (\`dist/\`), 2 workers,`,
    `sandbox MongoDB and WeChat double in one separate process, autocannon ${CONNECTIONS} connections x ${DURATION_S} s per run;`,
    `bare and info alternate ${ROUNDS} times and each row is its median run,`,
    `all on one ${require('node:os').cpus().length}-core machine (load generator included).`,
    '',
    '| route | req/s | p50 ms | p99 ms | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(r => `| ${r.name} | ${r.reqPerSec} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`),
    '',
    `**info / bare throughput: ${ratio.toFixed(2)}** (goal ≥ 0.60: ${ratio >= 0.6 ? 'met' : 'NOT met'}); ` +
      `info p99 / bare p99: ${p99Ratio.toFixed(2)} (goal ≤ 3: ${p99Ratio <= 3 ? 'met' : 'NOT met'}).`,
    '',
    `Memory per worker after the run (RSS): ${memory.map(m => `${m.rssMiB} MiB`).join(', ') || 'n/a'}.`,
    '',
  ];
  fs.writeFileSync(path.join(ROOT, 'bench', 'results.md'), lines.join('\n'));
  process.stdout.write(`bench: wrote bench/results.md (info/bare ${ratio.toFixed(2)})\n`);
}

main().catch(err => {
  process.stderr.write(`bench: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
