import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import prodConfig from '../../config/config.prod';
import { prodEnvProblems, prodEnvWarnings, REQUIRED_IN_PROD } from '../../config/env';
import { isolateEnv } from '../helpers/env';

const VARS = [ ...REQUIRED_IN_PROD, 'WXMP_APPS_FILE', 'WXMP_TOKEN_MODE', 'INTERNAL_API_KEYS', 'JWT_PREVIOUS_SECRETS', 'WXMP_PUSH_TOKEN', 'WXMP_PUSH_AES_KEY', 'PUBLIC_BASE_URL' ] as const;

describe('test/config/config.prod.test.ts', () => {
  isolateEnv(VARS);

  it('refuses to load, naming every missing variable on its own line', () => {
    assert.deepEqual(prodEnvProblems(), [
      'missing environment variable MONGODB_URI',
      'missing environment variable WXMP_APPID',
      'missing environment variable WXMP_SECRET',
      'missing environment variable JWT_SECRET',
    ]);
    assert.throws(() => prodConfig(), /refusing to start: missing environment variable MONGODB_URI; .*WXMP_APPID; .*WXMP_SECRET; .*JWT_SECRET$/);
  });

  it('warns, once and without the Token, that a plaintext-mode push is weaker than safe mode', () => {
    assert.deepEqual(prodEnvWarnings(), []);
    process.env.WXMP_PUSH_TOKEN = 'pushtoken123';
    const [ warning, ...rest ] = prodEnvWarnings();
    assert.deepEqual(rest, []);
    assert.match(warning, /plaintext mode.*WXMP_PUSH_AES_KEY/);
    assert.doesNotMatch(warning, /pushtoken123/);
    process.env.WXMP_PUSH_AES_KEY = 'a'.repeat(43);
    assert.deepEqual(prodEnvWarnings(), []);
  });

  it('refuses a MONGODB_URI without a database name, and a JWT_SECRET of fewer than 8 different characters, in one line each', () => {
    process.env.MONGODB_URI = 'mongodb://127.0.0.1:37017';
    process.env.WXMP_APPID = 'wx0123456789';
    process.env.WXMP_SECRET = 'secret';
    process.env.JWT_SECRET = 'a'.repeat(48);
    assert.deepEqual(prodEnvProblems(), [
      'JWT_SECRET must use at least 8 different characters (a random value: openssl rand -base64 48)',
      'MONGODB_URI must name the database (mongodb://host:27017/wxmp)',
    ]);
    for (const uri of [ 'mongodb://127.0.0.1:37017/', 'mongodb://127.0.0.1:37017/?replicaSet=rs0' ]) {
      process.env.MONGODB_URI = uri;
      assert.ok(prodEnvProblems().includes('MONGODB_URI must name the database (mongodb://host:27017/wxmp)'), uri);
    }
    process.env.MONGODB_URI = 'mongodb://u:p@a:1,b:2/wxmp?replicaSet=rs0';
    process.env.JWT_SECRET = 'k3Jd9-Qa_zX7pL2m'.repeat(2);
    assert.deepEqual(prodEnvProblems(), []);
  });

  it('names only what is missing, and treats blank values as missing', () => {
    process.env.MONGODB_URI = 'mongodb://db.internal:27017/wxmp';
    process.env.WXMP_APPID = 'wx0123456789';
    process.env.WXMP_SECRET = '   ';
    process.env.JWT_SECRET = 'abcdefgh'.repeat(4);
    assert.deepEqual(prodEnvProblems(), [ 'missing environment variable WXMP_SECRET' ]);
  });

  it('refuses a JWT_SECRET shorter than 32 characters and an unknown token mode', () => {
    process.env.MONGODB_URI = 'mongodb://db.internal:27017/wxmp';
    process.env.WXMP_APPID = 'wx0123456789';
    process.env.WXMP_SECRET = 'secret';
    process.env.JWT_SECRET = 'short';
    process.env.WXMP_TOKEN_MODE = 'turbo';
    const problems = prodEnvProblems();
    assert.equal(problems.length, 2);
    assert.match(problems[0], /JWT_SECRET must be at least 32 characters \(got 5\)/);
    assert.doesNotMatch(problems[0], /short/, 'the secret itself is never printed');
    assert.match(problems[1], /WXMP_TOKEN_MODE/);
  });

  it('refuses short internal API keys and old JWT secrets, a bad push config and PUBLIC_BASE_URL, naming the variable only', () => {
    process.env.MONGODB_URI = 'mongodb://db.internal:27017/wxmp';
    process.env.WXMP_APPID = 'wx0123456789';
    process.env.WXMP_SECRET = 'secret';
    process.env.JWT_SECRET = 'jwt-secret-0123456789-ABCDEFGHIJ-klmnopq';
    process.env.INTERNAL_API_KEYS = `orders:${'o'.repeat(40)},billing:tooshortkey`;
    process.env.JWT_PREVIOUS_SECRETS = 'oldshort';
    process.env.WXMP_PUSH_AES_KEY = 'abc';
    process.env.PUBLIC_BASE_URL = 'ftp://x';
    const problems = prodEnvProblems();
    assert.deepEqual(problems, [
      'WXMP_PUSH_AES_KEY must be the 43-character EncodingAESKey',
      'WXMP_PUSH_AES_KEY is set but WXMP_PUSH_TOKEN is not',
      'INTERNAL_API_KEYS: the key of "billing" must be at least 32 characters (got 11)',
      'JWT_PREVIOUS_SECRETS: each secret must be at least 32 characters',
      'PUBLIC_BASE_URL must be an http(s) URL like https://api.example.com',
    ]);
    assert.ok(!problems.join('\n').includes('tooshortkey') && !problems.join('\n').includes('oldshort'), 'no secret printed');
  });

  it('loads with a complete environment and never asks for the sandbox', () => {
    process.env.MONGODB_URI = 'mongodb://db.internal:27017/wxmp';
    process.env.WXMP_APPID = 'wx0123456789';
    process.env.WXMP_SECRET = 'secret';
    process.env.JWT_SECRET = 'jwt-secret-9876543210-ZYXWVUTSRQ-ponmlkj';
    assert.equal(prodConfig().sandbox, null);
  });

  describe('WXMP_APPS_FILE (several mini-programs)', () => {
    const SECRET_A = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
    const SECRET_B = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
    let dir: string;
    const write = (content: unknown) => {
      const file = path.join(dir, 'apps.json');
      fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      process.env.WXMP_APPS_FILE = file;
      return file;
    };
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxmp-apps-'));
      process.env.MONGODB_URI = 'mongodb://db.internal:27017/wxmp';
      process.env.JWT_SECRET = 'k3Jd9-Qa_zX7pL2m'.repeat(2);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('a good file replaces WXMP_APPID and WXMP_SECRET', () => {
      write([{ appid: 'wx0123456789abcdef', secret: SECRET_A, name: 'customer' }, { appid: 'wxfedcba9876543210', secret: SECRET_B, tokenMode: 'stable', pushToken: 'merchant1', pushAesKey: 'b'.repeat(43) }]);
      assert.deepEqual(prodEnvProblems(), []);
    });

    it('a bad file: one line per problem naming the app and the field, never a secret', () => {
      write([
        { appid: 'wx0123456789abcdef', secret: 'short', tokenMode: 'fast' },
        { appid: 'wx0123456789abcdef', secret: SECRET_B, pushAesKey: 'c'.repeat(43), colour: 'red' },
        { secret: SECRET_A },
      ]);
      const problems = prodEnvProblems();
      assert.deepEqual(problems, [
        'WXMP_APPS_FILE: app wx0123456789abcdef: secret must be the AppSecret (16-64 letters, digits, _ or -)',
        'WXMP_APPS_FILE: app wx0123456789abcdef: tokenMode must be "classic" or "stable"',
        'WXMP_APPS_FILE: app wx0123456789abcdef: colour is not a known field (appid, secret, name, tokenMode, pushToken, pushAesKey)',
        'WXMP_APPS_FILE: app wx0123456789abcdef: appid appears twice',
        'WXMP_APPS_FILE: app wx0123456789abcdef: pushAesKey is set but pushToken is not',
        'WXMP_APPS_FILE: app #3: appid must be the AppID (wx followed by 16 or more letters or digits)',
      ]);
      for (const line of problems) for (const secret of [ SECRET_A, SECRET_B, 'short' ]) assert.ok(!line.includes(secret), `${line} shows a secret`);
      assert.throws(() => prodConfig(), /refusing to start: WXMP_APPS_FILE: app wx0123456789abcdef: secret must be/);
    });

    it('not JSON, not an array, missing: one line, and the file\'s text is never quoted', () => {
      write(`[{ "appid": "wx0123456789abcdef", "secret": "${SECRET_A}" `);
      assert.deepEqual(prodEnvProblems().map(p => p.replace(dir, '<dir>')), [ 'WXMP_APPS_FILE: <dir>/apps.json is not valid JSON' ]);
      write({ appid: 'wx0123456789abcdef' });
      assert.match(prodEnvProblems()[0], /must hold a non-empty JSON array/);
      process.env.WXMP_APPS_FILE = path.join(dir, 'absent.json');
      assert.match(prodEnvProblems()[0], /cannot read .*absent\.json \(ENOENT\)/);
    });

    it('both forms at once is a problem', () => {
      write([{ appid: 'wx0123456789abcdef', secret: SECRET_A }]);
      process.env.WXMP_APPID = 'wx0123456789abcdef';
      process.env.WXMP_PUSH_TOKEN = 'pushtoken123';
      assert.deepEqual(prodEnvProblems(), [ 'WXMP_APPS_FILE is set, and so is WXMP_APPID, WXMP_PUSH_TOKEN: configure the apps in one place (move them into the file)' ]);
    });
  });
});
