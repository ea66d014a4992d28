import assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020';
import { app } from 'egg-mock/bootstrap';
import { openapiDocument } from '../../../app/lib/openapi';
import { MiniProgram } from '../../helpers/client';
import { wechat } from '../../helpers/sandbox';

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ ...openapiDocument, $id: 'openapi' } as object);

type Method = 'get' | 'post';

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

  it('serves the OpenAPI 3.1 document at /openapi.json and renders it at /docs', async () => {
    const spec = await app.httpRequest().get('/openapi.json').expect(200);
    assert.equal(spec.body.openapi, '3.1.0');
    assert.deepEqual(Object.keys(spec.body.paths).sort(), Object.keys(openapiDocument.paths).sort());
    const page = await app.httpRequest().get('/docs').expect(200);
    assert.match(page.headers['content-type'], /text\/html/);
    for (const path of Object.keys(openapiDocument.paths)) assert.ok(page.text.includes(path), `${path} is rendered`);
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
    await check('post', '/api/v1/mp/account/user/run', { jscode: mp.loginCode(), ...mp.encrypt({ stepInfoList: [ { timestamp: 1, step: 2 } ] }) }, token);
    await check('post', '/api/v1/mp/account/user/run', { jscode: mp.loginCode(), encryptedData: 'AAAAAAAAAAAAAAAAAAAAAA==', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }, token);
  });
});
