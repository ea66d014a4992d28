import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { app } from 'egg-mock/bootstrap';
import { OPERATION_ERRORS, openapiDocument, type OperationId } from '../../../app/lib/openapi';
import { ERROR_INFO } from '../../../app/lib/errors';
import { ErrorsSeen } from '../../helpers/errors_seen';
import { MiniProgram } from '../../helpers/client';
import { wechat } from '../../helpers/sandbox';

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ ...openapiDocument, $id: 'openapi' } as object);

type Method = 'get' | 'post';

interface Operation {
  operationId: string;
  security?: unknown;
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { content?: Record<string, { example?: unknown }> }>;
}

/** Asserts a real response matches what the document says for that path, method and status. */
function assertDocumented(method: Method, path: string, res: { status: number; body: unknown }): void {
  const op = (openapiDocument.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)[path]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
  assert.ok(op.responses[String(res.status)], `${method.toUpperCase()} ${path} documents status ${res.status}`);
  const pointer = `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/${res.status}/content/application~1json/schema`;
  const validate = ajv.compile({ $ref: pointer });
  assert.ok(validate(res.body), `${method.toUpperCase()} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`);
}

describe('test/app/lib/openapi.test.ts', () => {
  afterEach(async () => {
    await app.mockContext().models.Account.User.deleteMany({});
    wechat().clearFaults();
  });

  it('serves the OpenAPI 3.1 document at /openapi.json and Swagger UI at /docs, all from this host', async () => {
    const spec = await app.httpRequest().get('/openapi.json').expect(200);
    assert.equal(spec.body.openapi, '3.1.0');
    assert.deepEqual(Object.keys(spec.body.paths).sort(), Object.keys(openapiDocument.paths).sort());
    const page = await app.httpRequest().get('/docs').expect(200);
    assert.match(page.headers['content-type'], /text\/html/);
    // No script but this host's may run where Swagger UI keeps the bearer token.
    const csp = new Map(String(page.headers['content-security-policy']).split(';').map(d => d.trim().split(/\s+/))
      .map(([ name, ...values ]) => [ name, values ]));
    assert.deepEqual(csp.get('default-src'), [ "'none'" ]);
    assert.deepEqual(csp.get('script-src'), [ "'self'" ]);
    assert.deepEqual(csp.get('connect-src'), [ "'self'" ]);
    assert.doesNotMatch(page.text, /<script>/, 'no inline script (the CSP would block it)');
    const assets = [ ...page.text.matchAll(/(?:src|href)="([^"]+)"/g) ].map(m => m[1]);
    assert.ok(assets.length >= 3);
    for (const asset of assets) {
      assert.match(asset, /^\/docs\//, `${asset} is served by the app, not another host`);
      const res = await app.httpRequest().get(asset).expect(200);
      assert.ok(res.headers['content-length'] !== '0');
    }
    const bundle = await app.httpRequest().get('/docs/swagger-ui-bundle.js').expect(200);
    assert.match(bundle.text, /SwaggerUIBundle/, 'the real Swagger UI bundle');
    const init = await app.httpRequest().get('/docs/init.js').expect(200);
    assert.match(init.text, /url: '\/openapi\.json'/);
    await app.httpRequest().get('/docs/package.json').expect(404);
    await app.httpRequest().get('/docs/..%2Fpackage.json').expect(404);
  });

  it('every operation has the seed\'s route name as operationId, a security rule, and request and response examples', () => {
    const names = (app.router as unknown as { stack: { name?: string; path: string; methods: string[] }[] }).stack;
    for (const [ path, ops ] of Object.entries(openapiDocument.paths) as [string, Record<string, Operation>][]) {
      for (const [ method, op ] of Object.entries(ops)) {
        const route = names.find(l => l.path === path.replace(/\{(\w+)\}/g, ':$1') && l.methods.includes(method.toUpperCase()));
        assert.equal(op.operationId, route?.name, `${method} ${path}: operationId is the route name`);
        assert.ok(op.security !== undefined || openapiDocument.security, `${op.operationId} says who may call it`);
        for (const [ type, media ] of Object.entries(op.requestBody?.content ?? {})) assert.ok(media.example, `${op.operationId} has a ${type} request example`);
        for (const [ status, response ] of Object.entries(op.responses)) {
          const media = Object.values(response.content ?? {});
          if (status === '204' || status === '304') continue; // no body to show
          assert.ok(media.length && media.every(m => m.example !== undefined), `${op.operationId} ${status} has an example`);
        }
      }
    }
    const ids = Object.values(openapiDocument.paths).flatMap(ops => Object.values(ops).map(op => (op as Operation).operationId));
    for (const seedName of [ 'wxmp', 'wxmpBindPhone', 'getUserInfo', 'refreshToken' ]) assert.ok(ids.includes(seedName), seedName);
  });

  it('/docs shows the account operations in the order a mini-program calls them, login first', () => {
    const ops = Object.values(openapiDocument.paths).flatMap(methods => Object.values(methods) as Operation[]);
    const account = ops.filter(op => (op as unknown as { tags: string[] }).tags.includes('account')).map(op => op.operationId);
    assert.deepEqual(account, [ 'wxmp', 'session', 'getUserInfo', 'refreshToken', 'getSessions', 'deleteSession', 'wxmpLogout', 'wxmpBindPhone', 'wxmpProfile', 'wxmpAvatar', 'getAvatar', 'wxmpRun', 'deleteUser', 'exportUser', 'wxmpSubscriptions', 'getWxacodeScene' ]);
    assert.equal(openapiDocument.tags[0].name, 'account');
  });

  it('summaries are plain text (Swagger UI does not render markdown in them)', () => {
    for (const methods of Object.values(openapiDocument.paths)) {
      for (const op of Object.values(methods) as { operationId: string; summary: string }[]) {
        assert.doesNotMatch(op.summary, /[`*<>]|\[.*\]\(|__/, `${op.operationId}: ${op.summary}`);
      }
    }
  });

  it('each operation documents exactly its own error codes, under the status each is answered with', () => {
    for (const methods of Object.values(openapiDocument.paths)) {
      for (const op of Object.values(methods) as (Operation & { operationId: OperationId })[]) {
        const documented = Object.entries(op.responses).filter(([ status ]) => Number(status) >= 400)
          .flatMap(([ status, r ]) => {
            const schema = (r.content?.['application/json'] as { schema?: { properties?: { code?: { enum?: string[] } } } } | undefined)?.schema;
            return (schema?.properties?.code?.enum ?? []).map(code => `${status} ${code}`);
          });
        const expected = [ ...new Set(OPERATION_ERRORS[op.operationId]) ].map(code => `${ERROR_INFO[code].status} ${code}`);
        assert.deepEqual(documented.sort(), expected.sort(), op.operationId);
      }
    }
    // The reader's complaint: /user/info's 401 spoke of push signatures, its 503 of avatar uploads.
    const info = openapiDocument.paths['/api/v1/mp/account/user/info'].get.responses as unknown as Record<string, { description: string }>;
    assert.doesNotMatch(info['401'].description, /SIGNATURE/);
    assert.doesNotMatch(info['503'].description, /NOT_CONFIGURED|avatar/i);
    assert.equal(info['400'], undefined, '/user/info takes no input: no 400');
  });

  it('the suite-wide check of answered codes flags a code an operation does not document', () => {
    const seen = new ErrorsSeen();
    seen.record({ routerName: 'getUserInfo', method: 'GET', path: '/api/v1/mp/account/user/info', status: 401, body: { code: 'TOKEN_EXPIRED', message: '' } });
    seen.record({ method: 'POST', path: '/api/v1/mp/account/user/bindPhone', status: 400, body: { code: 'INVALID_BODY', message: '' } });
    seen.record({ method: 'GET', path: '/api/v1/mp/account/user/info', status: 405, body: { code: 'METHOD_NOT_ALLOWED', message: '' } });
    assert.deepEqual(seen.undocumented(), []);
    seen.record({ routerName: 'getUserInfo', method: 'GET', path: '/api/v1/mp/account/user/info', status: 409, body: { code: 'PHONE_TAKEN', message: '' } });
    // Answered before routing (no router name): found by method and path.
    seen.record({ method: 'GET', path: '/api/v1/mp/account/avatar/abc', status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: '' } });
    assert.deepEqual(seen.undocumented(), [ 'getUserInfo: PHONE_TAKEN', 'getAvatar: PAYLOAD_TOO_LARGE' ]);
  });

  it('examples are valid against their own schemas', () => {
    for (const [ path, ops ] of Object.entries(openapiDocument.paths) as [string, Record<string, Operation>][]) {
      for (const [ method, op ] of Object.entries(ops)) {
        for (const [ status, response ] of Object.entries(op.responses)) {
          if (response.content?.['application/json']) assertDocumented(method as Method, path, { status: Number(status), body: response.content['application/json'].example });
        }
      }
    }
  });

  it('passes Redocly\'s recommended lint with no errors', async function() {
    this.timeout(30_000);
    const { createConfig, lintFromString } = await import('@redocly/openapi-core');
    const config = await createConfig({ extends: [ 'recommended' ] });
    const problems = await lintFromString({ source: JSON.stringify(openapiDocument), absoluteRef: '/openapi.json', config });
    const errors = problems.filter(p => p.severity === 'error').map(p => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    assert.deepEqual(errors, []);
    const warnings = problems.filter(p => p.severity === 'warn').map(p => `${p.ruleId} at ${p.location[0]?.pointer}`);
    // /health has no 4xx to document: it takes no input.
    assert.deepEqual(warnings, [ 'operation-4xx-response at #/paths/~1health/get/responses' ]);
  });

  it('a client generated from it (openapi-typescript) gets the seed\'s names and type-checks calls', async function() {
    this.timeout(60_000);
    const generated = astToString(await openapiTS(JSON.parse(JSON.stringify(openapiDocument))));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxmp-client-'));
    try {
      fs.writeFileSync(path.join(dir, 'api.d.ts'), generated);
      const call = (body: string) => `import type { operations } from './api';
type LoginBody = operations['wxmp']['requestBody']['content']['application/json'];
type LoginOk = operations['wxmp']['responses'][200]['content']['application/json'];
type Info = operations['getUserInfo']['responses'][200]['content']['application/json'];
type Bind = operations['wxmpBindPhone']['requestBody']['content']['application/json'];
export async function login(send: (b: LoginBody) => Promise<LoginOk>): Promise<string> {
  const res = await send(${body});
  return res.token;
}
export const phone = (i: Info): string | null | undefined => i.userInfo.telphone;
export const bind: Bind = { code: 'abc' };
`;
      const typeCheck = (source: string) => {
        fs.writeFileSync(path.join(dir, 'call.ts'), source);
        const program = ts.createProgram([ path.join(dir, 'call.ts') ], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, skipLibCheck: true, types: [], lib: [ 'lib.es2022.d.ts' ] });
        return ts.getPreEmitDiagnostics(program).map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      };
      assert.deepEqual(typeCheck(call("{ jscode: '0a3Xyz' }")), []);
      // ...and the check is real: a call without jscode, or with a number, does not compile.
      assert.ok(typeCheck(call('{ iv: 1 }')).length > 0);
      assert.ok(typeCheck(call('{ jscode: 42 }')).length > 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every route\'s real responses, success and error, match the document', async () => {
    const mp = new MiniProgram(app);
    const check = async (method: Method, path: string, body?: object, token?: string) => {
      let req = method === 'get' ? app.httpRequest().get(path) : app.httpRequest().post(path).send(body ?? {});
      if (token) req = req.set('authorization', `Bearer ${token}`);
      const res = await req;
      assertDocumented(method, path, res);
      return res;
    };
    await check('get', '/health');
    await check('post', '/api/v1/mp/account/user/auth', { jscode: mp.loginCode() });
    const login = await check('post', '/api/v1/mp/account/user/auth', { jscode: mp.loginCode(), ...mp.encrypt(mp.profile()) });
    const token = login.body.token as string;
    await check('post', '/api/v1/mp/account/user/auth', { jscode: { $gt: '' } });
    await check('post', '/api/v1/mp/account/user/auth', { jscode: 'used-or-never-issued' });
    wechat().inject({ path: '/sns/jscode2session', kind: 'http5xx', times: 1 });
    assert.equal((await check('post', '/api/v1/mp/account/user/auth', { jscode: mp.loginCode() })).status, 502);
    await check('post', '/api/v1/mp/account/user/bindPhone', { code: wechat().issuePhoneCode(mp.appid, '13800138000') }, token);
    await check('post', '/api/v1/mp/account/user/bindPhone', { jscode: mp.loginCode(), ...mp.encrypt({ phoneNumber: '13700000000' }) }, token);
    await check('post', '/api/v1/mp/account/user/bindPhone', {}, token);
    await check('post', '/api/v1/mp/account/user/bindPhone', { code: 'x' });
    const info = await check('get', '/api/v1/mp/account/user/info', undefined, token);
    assert.equal(info.status, 200);
    await check('get', '/api/v1/mp/account/user/info', undefined, 'not.a.token');
    await check('get', '/api/v1/mp/account/refreshToken', undefined, token);
    await check('get', '/api/v1/mp/account/session', undefined, token);
    await check('get', '/api/v1/mp/account/session');
    await check('post', '/api/v1/mp/account/user/run', { jscode: mp.loginCode(), ...mp.encrypt({ stepInfoList: [{ timestamp: 1, step: 2 }] }) }, token);
    await check('post', '/api/v1/mp/account/user/run', { jscode: mp.loginCode(), encryptedData: 'AAAAAAAAAAAAAAAAAAAAAA==', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }, token);
  });
});
