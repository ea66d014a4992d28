// egg-bin loads this first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Application } from 'egg';
import mm from 'egg-mock';
import { ISSUED_SESSION_KEYS } from '../sandbox/wechat/server';
import unittestConfig, { testOutputRoot } from '../config/config.unittest';
import { findSecrets } from './helpers/secrets';
import { ErrorsSeen } from './helpers/errors_seen';

// Keep every test's mocks from leaking into the next one.
afterEach(mm.restore);

const ROOT = path.resolve(__dirname, '..');

// Every error response any test app gives, by operation: the suite fails below if one
// carries a code its operation's documented list (OPERATION_ERRORS, which /docs shows) lacks.
const errorsSeen = new ErrorsSeen();
const emit = Application.prototype.emit;
Application.prototype.emit = function(this: Application, event: string | symbol, ...args: unknown[]) {
  if (event === 'response') errorsSeen.record(args[0] as Parameters<ErrorsSeen['record']>[0]);
  return emit.call(this, event, ...args);
};

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

after(() => {
  assert.deepEqual(errorsSeen.undocumented(), [], 'error codes answered by operations whose documented list lacks them (app/lib/openapi.ts OPERATION_ERRORS)');
  if (process.env.ERRORS_SEEN_REPORT) fs.writeFileSync(process.env.ERRORS_SEEN_REPORT, errorsSeen.unseen().join('\n') + '\n');
});
