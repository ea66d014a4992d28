import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { listen } from '../helpers/client';
import { childEnv, ROOT } from '../helpers/process';
import { freePort } from '../helpers/prod';
import { wechat } from '../helpers/sandbox';

const run = promisify(execFile);

function client(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return clientWith({}, ...args);
}

function clientWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [ '-r', 'ts-node/register/transpile-only', 'scripts/client.ts', ...args ], { cwd: ROOT, env: { ...childEnv(), ...env }, timeout: 60_000 })
    .then(r => ({ code: 0, stdout: r.stdout, stderr: r.stderr }))
    .catch((err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }));
}

describe('test/scripts/client.test.ts (npm run client)', function() {
  this.timeout(60_000);

  it('--help prints the usage and exits 0; an unknown option exits 2 with the usage', async () => {
    const help = await client('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: npm run client -- \[options\]/);
    assert.match(help.stdout, /--base-url URL/);
    const bad = await client('--bogus');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'[\s\S]*usage:/);
  });

  it('with no server it names the URL and asks whether npm run dev is running', async () => {
    const port = await freePort();
    const res = await client('--base-url', `http://127.0.0.1:${port}`, '--wechat-url', `http://127.0.0.1:${port}`);
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`cannot reach the WeChat double at http://127.0.0.1:${port} (ECONNREFUSED); is \`npm run dev\` running?`), res.stderr);
  });

  it('finds a dev server moved with PORT and SANDBOX_WECHAT_PORT without flags', async () => {
    const port = await freePort();
    const res = await clientWith({ PORT: String(port), SANDBOX_WECHAT_PORT: String(port) });
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`at http://127.0.0.1:${port} (ECONNREFUSED)`), res.stderr);
  });

  it('walks every step against a running app, twice (each run binds fresh numbers)', async () => {
    await wechat().security.settled();
    const server = await listen(app);
    mm(app.config.avatar, 'publicBaseUrl', server.url);
    try {
      for (let i = 0; i < 2; i++) {
        const res = await client('--base-url', server.url, '--wechat-url', wechat().url as string, '--appid', app.config.wxmp.appid);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /client: all steps passed/);
        assert.equal((res.stdout.match(/ ✔ /g) ?? []).length, 14, res.stdout);
        for (const step of [ 'sessions:', 'end the other session', 'export:', 'logout:' ]) assert.ok(res.stdout.includes(step), step);
      }
    } finally {
      await server.close();
      await app.mockContext().models.Account.User.deleteMany({});
      await app.mockContext().models.Basics.User.User.deleteMany({});
    }
  });
});
