import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, ERROR_INFO, type ErrorCode } from '../../../app/lib/errors';

describe('test/app/lib/errors.test.ts', () => {
  it('docs/errors.md describes every code the API answers with, each once, and no other', () => {
    const table = fs.readFileSync(path.join(__dirname, '../../../docs/errors.md'), 'utf8')
      .split('\n').map(line => /^\| (\d{3}) \| `([A-Z_]+)` \|/.exec(line))
      .filter(m => m !== null);
    const documented = table.map(m => m[2]);
    assert.equal(new Set(documented).size, documented.length, 'a code is described twice');
    assert.deepEqual([ ...documented ].sort(), [ ...ERROR_CODES ].sort());
    // ...with the status the API answers each with (ERROR_INFO, from which /docs is generated).
    for (const m of table) assert.equal(ERROR_INFO[m[2] as ErrorCode].status, Number(m[1]), `${m[2]}'s status`);
  });
});
