// egg-bin loads this first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mm from 'egg-mock';
import { ISSUED_SESSION_KEYS } from '../sandbox/wechat/server';
import unittestConfig from '../config/config.unittest';
import { filesUnder } from './helpers/process';

// Keep every test's mocks from leaking into the next one.
afterEach(mm.restore);

// After the whole suite: no appsecret, JWT secret or session_key in any log line or dumped
// config the run wrote. Runs last, after the app closed and flushed its logs.
after(async function() {
  this.timeout(10_000);
  await new Promise(r => setTimeout(r, 1200));
  const config = unittestConfig();
  const secrets = [ config.wxmp.secret, config.jwt?.secret, ...ISSUED_SESSION_KEYS ].filter((s): s is string => !!s);
  assert.ok(secrets.length >= 2);
  const root = path.resolve(__dirname, '..');
  const files = [ ...filesUnder(path.join(root, 'logs')), ...filesUnder(path.join(root, 'run')) ];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in ${path.relative(root, file)}`);
    }
  }
});
