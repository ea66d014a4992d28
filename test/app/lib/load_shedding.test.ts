import assert from 'node:assert/strict';
import net from 'node:net';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { clusterLikeServer, MiniProgram } from '../../helpers/client';
import { until, wechat } from '../../helpers/sandbox';

describe('test/app/lib/load_shedding.test.ts', () => {
  afterEach(async () => {
    wechat().clearFaults();
    await app.mockContext().models.Account.User.deleteMany({});
  });

  it('beyond maxInFlight a worker answers 503 OVERLOADED with Retry-After at once; /health still answers', async () => {
    mm(app.config.overload, 'maxInFlight', 2);
    wechat().resetCounts();
    const server = await clusterLikeServer(app);
    let inFlight = 0;
    try {
      wechat().inject({ path: '/sns/jscode2session', kind: 'latency', ms: 800 });
      const slow = [ new MiniProgram(app), new MiniProgram(app) ].map(mp => fetch(`${server.url}/api/v1/mp/account/user/auth`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jscode: mp.loginCode() }),
      }).finally(() => inFlight--));
      inFlight = 2;
      await until(() => wechat().count('/sns/jscode2session') >= 2, 2000, 'two logins waiting on WeChat');
      const started = Date.now();
      const refused = await fetch(`${server.url}/api/v1/mp/account/session`);
      assert.ok(Date.now() - started < 300, 'refused without waiting');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await refused.json()) as { code: string }).code, 'OVERLOADED');
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 503, 'health is served, and tells a balancer this worker is saturated');
      assert.deepEqual(((await health.json()) as { load: unknown }).load, { inFlight: 3, bodyPending: 0, saturated: true }, 'the two logins and this request');
      assert.deepEqual((await Promise.all(slow)).map(r => r.status), [ 200, 200 ], 'the requests already in flight finish');
      wechat().clearFaults();
      assert.equal((await fetch(`${server.url}/api/v1/mp/account/session`)).status, 401, 'served again once below the bound');
    } finally {
      await until(() => inFlight === 0, 3000, 'the slow requests to end');
    }
  });

  it('0 turns it off', async () => {
    mm(app.config.overload, 'maxInFlight', 0);
    wechat().resetCounts();
    const { url } = await clusterLikeServer(app);
    wechat().inject({ path: '/sns/jscode2session', kind: 'latency', ms: 500 });
    const slow = Array.from({ length: 3 }, () => fetch(`${url}/api/v1/mp/account/user/auth`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jscode: 'garbage' }),
    }));
    await until(() => wechat().count('/sns/jscode2session') >= 3, 2000, 'three logins waiting on WeChat');
    assert.equal((await fetch(`${url}/api/v1/mp/account/session`)).status, 401);
    await Promise.all(slow);
  });
});

/** A connection to the server on 127.0.0.1 from `localAddress` (another loopback address is another client). */
function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.on('error', reject);
    socket.setEncoding('utf8');
  });
}

/** Opens a connection (from `localAddress`) that sends a POST's headers and one byte of its body, then nothing. */
async function slowBody(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const socket = await connectFrom(port, localAddress);
  socket.write('POST /api/v1/mp/account/user/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  return socket;
}

function answerOf(socket: net.Socket): Promise<string> {
  return new Promise(resolve => {
    let text = '';
    socket.on('data', d => { text += d; });
    socket.on('close', () => resolve(text));
  });
}

describe('test/app/lib/load_shedding.test.ts (bodies still arriving)', () => {
  const sockets: net.Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  it('requests waiting for their body do not count as in flight: 20 of them, maxInFlight 4, /user/info still answers', async () => {
    mm(app.config.overload, 'maxInFlight', 4);
    const server = await clusterLikeServer(app);
    const port = Number(new URL(server.url).port);
    const mp = new MiniProgram(app);
    const { token } = await mp.login();
    for (let i = 0; i < 20; i++) sockets.push(await slowBody(port));
    await until(() => (app.saturation?.().bodyPending ?? 0) >= 20, 2000, 'the slow bodies to arrive at the server');
    const load = app.saturation?.();
    assert.equal(load?.inFlight, 0);
    const info = await fetch(`${server.url}/api/v1/mp/account/user/info`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(info.status, 200);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { load: { bodyPending: number; saturated: boolean } };
    assert.equal(health.load.bodyPending, 20);
    assert.equal(health.load.saturated, false);
  });

  it('a body that does not arrive within bodyTimeoutMs is answered 408 REQUEST_TIMEOUT and the connection closed', async () => {
    mm(app.config.overload, 'bodyTimeoutMs', 300);
    const server = await clusterLikeServer(app);
    const socket = await slowBody(Number(new URL(server.url).port));
    sockets.push(socket);
    const started = Date.now();
    const text = await answerOf(socket);
    assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.equal(JSON.parse(text.split('\r\n\r\n')[1]).code, 'REQUEST_TIMEOUT');
    await until(() => app.saturation?.().bodyPending === 0, 2000, 'the pending count to drop');
  });

  it('beyond maxBodyPending a request with a body is refused 503 OVERLOADED; one without a body is still served', async () => {
    mm(app.config.overload, 'maxBodyPending', 3);
    const server = await clusterLikeServer(app);
    const port = Number(new URL(server.url).port);
    for (let i = 0; i < 3; i++) sockets.push(await slowBody(port));
    await until(() => app.saturation?.().bodyPending === 3, 2000, 'three pending bodies');
    const refused = await fetch(`${server.url}/api/v1/mp/account/user/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jscode":"x"}' });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { code: string }).code, 'OVERLOADED');
    assert.equal((await fetch(`${server.url}/api/v1/mp/account/session`)).status, 401);
  });

  it('beyond maxConnectionsPerAddress an address is refused 503 OVERLOADED; another address is not', async () => {
    mm(app.config.overload, 'maxConnectionsPerAddress', 3);
    const server = await clusterLikeServer(app);
    const port = Number(new URL(server.url).port);
    for (let i = 0; i < 3; i++) sockets.push(await slowBody(port, '127.0.0.3'));
    const extra = await connectFrom(port, '127.0.0.3');
    sockets.push(extra);
    const session = 'GET /api/v1/mp/account/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const answer = answerOf(extra);
    extra.write(session);
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /connection: close/i);
    assert.equal(JSON.parse(text.split('\r\n\r\n')[1]).code, 'OVERLOADED');
    // another address is not affected
    const other = await connectFrom(port, '127.0.0.4');
    sockets.push(other);
    const otherAnswer = answerOf(other);
    other.write(session);
    assert.match(await otherAnswer, /^HTTP\/1\.1 401 /);
  });
});
