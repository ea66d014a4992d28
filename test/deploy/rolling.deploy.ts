/**
 * `npm run test:deploy`: two production instances behind a real nginx configured with
 * deploy/nginx.conf (ports rewritten, nothing else), restarted one by one (`PORT=<p> npm stop`,
 * `npm start`) under a steady mixed load through nginx. No request may fail, every write
 * acknowledged to a client must be in the database, and the rate limits must count the client
 * address nginx passes on, not nginx's own.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { spawnSandbox, waitExit, type SandboxProcess } from '../helpers/process';
import { freePort, ROOT } from '../helpers/prod';
import { MixedLoad, p99 } from '../helpers/mixed_load';

const APPID = 'wxsandbox0000000001';
const JWT_SECRET = 'deploy-test-jwt-secret-0123456789abcdef0123';
const CLIENT = '127.0.0.2'; // the load's own address: nginx connects to the instances from 127.0.0.1
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe('test/deploy/rolling.deploy.ts (two instances behind nginx, restarted one by one under load)', function() {
  this.timeout(600_000);
  let sandbox: SandboxProcess;
  let nginx: ChildProcess;
  let dir: string;
  let ports: number[];
  let base: string;
  let mongoUri: string;
  const instanceEnv = (port: number): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([ k ]) => !k.startsWith('TS_NODE_') && k !== 'NODE_OPTIONS')),
      MONGODB_URI: mongoUri, WXMP_APPID: APPID, WXMP_SECRET: 'sandbox-app-secret', WXMP_API_BASE: sandbox.urls.wechat,
      JWT_SECRET, PORT: String(port), WORKERS: '1', APP_TITLE: `wxmp-deploy-${port}`, TRUST_PROXY: '1',
      RATE_LIMIT_LOGIN_PER_MINUTE: '100000', RATE_LIMIT_USER_PER_MINUTE: '100000', LOG_DIR: path.join(dir, `logs-${port}`),
    };
    delete env.WXMP_APPS_FILE;
    return env;
  };
  const instance = (command: 'start' | 'stop', port: number) => execFileSync(process.execPath, [ 'scripts/instance.js', command ], { cwd: ROOT, env: instanceEnv(port), stdio: 'pipe', timeout: 120_000 });

  before(async () => {
    const nginxBin = execFileSync('bash', [ path.join(ROOT, 'scripts/ensure-nginx.sh') ], { encoding: 'utf8', stdio: [ 'ignore', 'pipe', 'inherit' ] }).trim();
    execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'ignore' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxmp-deploy-'));
    const mongoPort = await freePort();
    sandbox = await spawnSandbox([ '--mongo-port', String(mongoPort), '--wechat-port', '0' ], [ 'mongo', 'wechat' ]);
    mongoUri = `mongodb://127.0.0.1:${mongoPort}/wxmp_deploy`;
    ports = [ await freePort(), await freePort() ];
    for (const port of ports) instance('start', port);
    // deploy/nginx.conf as an operator would install it: only the ports differ.
    const nginxPort = await freePort();
    const site = fs.readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8')
      .replace('server 127.0.0.1:7001 ', `server 127.0.0.1:${ports[0]} `)
      .replace('server 127.0.0.1:7002 ', `server 127.0.0.1:${ports[1]} `)
      .replace('listen 80;', `listen 127.0.0.1:${nginxPort};`);
    assert.ok(site.includes(String(ports[0])) && site.includes(String(ports[1])) && site.includes(String(nginxPort)), 'ports rewritten');
    fs.writeFileSync(path.join(dir, 'wxmp.conf'), site);
    fs.mkdirSync(path.join(dir, 'tmp'));
    // Started as root, nginx's workers run as nobody: they must be able to buffer bodies here.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'tmp'), 0o777);
    fs.writeFileSync(path.join(dir, 'nginx.conf'), [
      'daemon off;', 'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log warn;`,
      'events { worker_connections 1024; }',
      `http { access_log ${dir}/nginx-access.log; client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;`,
      `  include ${dir}/wxmp.conf; }`,
    ].join('\n'));
    nginx = spawn(nginxBin, [ '-c', path.join(dir, 'nginx.conf'), '-p', dir ], { stdio: 'inherit' });
    base = `http://127.0.0.1:${nginxPort}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health`).then(r => r.ok, () => false);
      if (ok) break;
      if (i > 100) throw new Error(`nginx did not serve: ${fs.existsSync(`${dir}/nginx-error.log`) ? fs.readFileSync(`${dir}/nginx-error.log`, 'utf8') : ''}`);
      await sleep(100);
    }
  });

  after(async () => {
    nginx?.kill('SIGQUIT');
    for (const port of ports ?? []) {
      try {
        instance('stop', port);
      } catch { /* already stopped */ }
    }
    if (sandbox) {
      sandbox.child.kill('SIGTERM');
      await waitExit(sandbox.child);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restarting each instance under load through nginx: no request fails, every acknowledged write is stored, limits see the client', async () => {
    const load = new MixedLoad({ base, wechat: sandbox.urls.wechat, appid: APPID, users: 6, prefix: 'o_deploy_', localAddress: CLIENT });
    load.start();
    const windows: string[] = [];
    await sleep(3000);
    for (const [ i, port ] of ports.entries()) {
      const started = Date.now();
      instance('stop', port);
      const stopped = Date.now();
      instance('start', port);
      windows.push(`instance ${i + 1}: stop ${stopped - started} ms, start ${Date.now() - stopped} ms`);
      await sleep(3000);
    }
    // An idle keep-alive connection reused after longer than Node's default 5 s keepAliveTimeout.
    const idle = await load.request('GET', '/health');
    await sleep(6000);
    const reused = await load.request('GET', '/health');
    await load.stop();
    const failures = load.failures();
    const byStatus: Record<string, number> = {};
    for (const o of load.outcomes) byStatus[o.transport ?? String(o.status)] = (byStatus[o.transport ?? String(o.status)] ?? 0) + 1;
    process.stdout.write(`      ${load.outcomes.length} requests through nginx, p99 ${p99(load.outcomes.map(o => o.ms))} ms, ${JSON.stringify(byStatus)}\n      ${windows.join('; ')}\n`);
    assert.deepEqual(failures.map(f => `${f.route} ${f.transport ?? f.status} ${f.code ?? ''}`), [], 'no failed request');
    assert.ok(load.outcomes.length > 200, `${load.outcomes.length} requests`);
    assert.deepEqual([ idle.status, reused.status ], [ 200, 200 ]);

    const client = await MongoClient.connect(mongoUri);
    try {
      const db = client.db();
      for (const [ openid, uid ] of load.ackedUsers) {
        const user = await db.collection('users').findOne({ openId: openid });
        assert.equal(String(user?._id), uid, `${openid}'s acknowledged login`);
        const phone = load.ackedPhones.get(openid);
        if (phone) assert.equal(user?.telphone, phone, `${openid}'s acknowledged bind`);
      }
      const keys = (await db.collection('rate_limits').find({}, { projection: { key: 1 } }).toArray()).map(d => String(d.key));
      assert.ok(keys.includes(`login:${CLIENT}`), `the login limit counts the client address (${keys.filter(k => k.startsWith('login:')).join(', ')})`);
      assert.ok(!keys.includes('login:127.0.0.1'), 'never nginx\'s address');
    } finally {
      await client.close();
    }
  });
});
