// egg-bin loads this first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mm from 'egg-mock';
import { ISSUED_SESSION_KEYS } from '../sandbox/wechat/server';
import unittestConfig, { testOutputRoot } from '../config/config.unittest';
import { findSecrets } from './helpers/secrets';

// Keep every test's mocks from leaking into the next one.
afterEach(mm.restore);

const ROOT = path.resolve(__dirname, '..');

// After the whole suite: no appsecret, JWT secret, push Token/EncodingAESKey or session_key in any log line or dumped
// config any test app of this run wrote (each has its own dirs under .test-output/<pid>).
// Runs last, after the apps closed and flushed their logs.
after(async function() {
  this.timeout(10_000);
  await new Promise(r => setTimeout(r, 1200));
  const output = testOutputRoot(ROOT);
  const config = unittestConfig({ baseDir: ROOT } as Parameters<typeof unittestConfig>[0]);
  const secrets = [ config.wxmp.secret, config.jwt?.secret, config.wxmp.push?.token, config.wxmp.push?.aesKey, ...ISSUED_SESSION_KEYS ].filter((s): s is string => !!s);
  assert.ok(secrets.length >= 4);
  assert.deepEqual(findSecrets([ output, path.join(ROOT, 'logs'), path.join(ROOT, 'run') ], secrets), []);
  fs.rmSync(output, { recursive: true, force: true });
});
