import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { app } from 'egg-mock/bootstrap';
import { testOutputRoot } from '../config/config.unittest';
import { findSecrets } from './helpers/secrets';
import { until } from './helpers/sandbox';

describe('test/secret_scan.test.ts (the suite-wide secret scan in test/.setup.ts)', () => {
  it('finds a planted secret in any file below the scanned dirs, nested or not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxmp-scan-'));
    try {
      const secret = `planted-${crypto.randomBytes(8).toString('hex')}`;
      fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'clean.log'), 'nothing to see\n');
      fs.writeFileSync(path.join(dir, 'a', 'b', 'common-error.log'), `2026-01-01 ERROR 1 [wechat] secret=${secret}\n`);
      const findings = findSecrets([ dir ], [ secret, 'absent-secret' ]);
      assert.deepEqual(findings.map(f => path.relative(dir, f.file)), [ path.join('a', 'b', 'common-error.log') ]);
      assert.equal(findings[0].secretPrefix, 'plan…');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sees what the test apps log: their log and run dirs live below the scanned root', async () => {
    const root = testOutputRoot(app.baseDir);
    assert.ok(app.config.logger.dir?.startsWith(root), `logs in ${app.config.logger.dir}`);
    assert.ok(app.config.rundir.startsWith(root), `config dumps in ${app.config.rundir}`);
    const marker = `marker-${crypto.randomBytes(8).toString('hex')}`;
    app.logger.info('[secret_scan] %s', marker);
    await until(() => findSecrets([ root ], [ marker ]).length > 0, 5000, 'the line to reach a scanned file');
  });
});
