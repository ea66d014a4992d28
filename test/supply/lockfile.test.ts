import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

/**
 * `npm audit` cannot reach an advisory service from our machines, so the lockfile is
 * checked against the published high/critical advisories that touch this dependency tree.
 * A new advisory goes here with the range it affects; the README lists the overrides.
 */
const ADVISORIES: { pkg: string; vulnerable: string; advisory: string }[] = [
  { pkg: 'jsonwebtoken', vulnerable: '<9.0.0', advisory: 'CVE-2022-23529/23539/23540/23541 (egg-jwt pulls 8.5.1; overridden)' },
  { pkg: 'jws', vulnerable: '<3.2.3 || >=4.0.0 <4.0.1', advisory: 'CVE-2025-65945 improper HMAC verification' },
  { pkg: 'mongoose', vulnerable: '<7.8.4', advisory: 'CVE-2025-23061 / CVE-2024-53900 search injection' },
  { pkg: 'koa', vulnerable: '<2.16.1', advisory: 'CVE-2025-32379 XSS in ctx.redirect, CVE-2025-25200 ReDoS' },
  { pkg: 'form-data', vulnerable: '<2.5.4 || >=3.0.0 <3.0.4 || >=4.0.0 <4.0.4', advisory: 'CVE-2025-7783 unsafe random boundary (critical)' },
  { pkg: 'path-to-regexp', vulnerable: '<0.1.10 || >=1.0.0 <1.9.0 || >=2.0.0 <6.3.0 || >=7.0.0 <8.0.0', advisory: 'CVE-2024-45296 ReDoS' },
  { pkg: 'cross-spawn', vulnerable: '<6.0.6 || >=7.0.0 <7.0.5', advisory: 'CVE-2024-21538 ReDoS' },
  { pkg: 'braces', vulnerable: '<3.0.3', advisory: 'CVE-2024-4068 memory exhaustion' },
  { pkg: 'lodash', vulnerable: '<4.17.21', advisory: 'CVE-2021-23337 command injection' },
  { pkg: 'minimist', vulnerable: '<1.2.6', advisory: 'CVE-2021-44906 prototype pollution (critical)' },
  { pkg: 'qs', vulnerable: '<6.10.3', advisory: 'CVE-2022-24999 prototype pollution' },
  { pkg: 'ws', vulnerable: '>=8.0.0 <8.17.1 || >=7.0.0 <7.5.10', advisory: 'CVE-2024-37890 DoS' },
  { pkg: 'semver', vulnerable: '<5.7.2 || >=6.0.0 <6.3.1 || >=7.0.0 <7.5.2', advisory: 'CVE-2022-25883 ReDoS' },
  { pkg: 'formidable', vulnerable: '<2.1.3 || >=3.0.0 <3.5.3', advisory: 'CVE-2025-46653 predictable names' },
  { pkg: 'moment', vulnerable: '<2.29.4', advisory: 'CVE-2022-31129 ReDoS' },
  { pkg: 'minimatch', vulnerable: '<3.0.5', advisory: 'CVE-2022-3517 ReDoS' },
  { pkg: 'undici', vulnerable: '<5.28.5 || >=6.0.0 <6.21.1', advisory: 'CVE-2025-22150 predictable multipart boundary' },
  { pkg: 'nanoid', vulnerable: '<3.3.8', advisory: 'CVE-2024-55565 predictable ids' },
  { pkg: 'tar', vulnerable: '<6.2.1', advisory: 'CVE-2024-28863 DoS' },
  { pkg: 'ip', vulnerable: '<=2.0.1', advisory: 'CVE-2024-29415 SSRF (no fix)' },
];

interface LockEntry {
  version?: string;
}

describe('test/supply/lockfile.test.ts', () => {
  const lock = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry> };

  it('is a lockfile v3 with resolved versions', () => {
    assert.ok(lock.lockfileVersion >= 2);
    assert.ok(Object.keys(lock.packages).length > 100);
  });

  it('holds no version with a known high or critical advisory', () => {
    const found: string[] = [];
    let checked = 0;
    for (const [ key, entry ] of Object.entries(lock.packages)) {
      const name = key.split('node_modules/').pop() as string;
      for (const a of ADVISORIES) {
        if (a.pkg !== name || !entry.version) continue;
        checked++;
        if (semver.satisfies(entry.version, a.vulnerable)) found.push(`${key}@${entry.version}: ${a.advisory}`);
      }
    }
    assert.ok(checked >= 10, `the advisory list matched real packages (${checked})`);
    assert.deepEqual(found, []);
  });

  it('the checker itself flags a vulnerable version', () => {
    assert.ok(semver.satisfies('8.5.1', ADVISORIES[0].vulnerable), 'jsonwebtoken 8.5.1 would be caught');
  });
});
