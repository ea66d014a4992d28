import assert from 'node:assert/strict';
import net from 'node:net';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { clusterLikeServer } from '../../helpers/client';

/** Sends raw bytes and collects everything the server answers until it closes the connection. */
function raw(port: number, chunks: string[], gapMs = 0): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8');
    socket.on('data', d => { text += d; });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    let i = 0;
    const next = () => {
      if (i >= chunks.length || socket.destroyed) return;
      socket.write(chunks[i++]);
      timer = setTimeout(next, gapMs);
    };
    next();
  });
}

function jsonOf(text: string): { status: number; body: { code: string; message: string }; headers: string } {
  const [ head, body ] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body), headers: head };
}

describe('test/app/lib/http_server.test.ts (errors below Koa, slow clients)', () => {
  let port: number;
  before(async () => {
    // Tight limits for this process's server (set before it listens: Node reads the check interval then).
    mm(app.config.httpServer, 'headersTimeoutMs', 600);
    mm(app.config.httpServer, 'requestTimeoutMs', 1500);
    mm(app.config.httpServer, 'checkIntervalMs', 100);
    const { server } = await clusterLikeServer(app);
    port = (server.address() as net.AddressInfo).port;
  });

  it('oversized headers: 431 HEADERS_TOO_LARGE as JSON, not egg\'s HTML page', async () => {
    const { text } = await raw(port, [ `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n` ]);
    const res = jsonOf(text);
    assert.equal(res.status, 431);
    assert.equal(res.body.code, 'HEADERS_TOO_LARGE');
    assert.match(res.headers, /content-type: application\/json/i);
  });

  for (const [ label, request ] of [
    [ 'Content-Length with Transfer-Encoding', 'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' ],
    [ 'bare LF line endings', 'GET /health HTTP/1.1\nHost: x\n\n' ],
    [ 'garbage', 'HELLO THERE\r\n\r\n' ],
  ]) {
    it(`${label}: 400 MALFORMED_REQUEST as JSON`, async () => {
      const res = jsonOf((await raw(port, [ request ])).text);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'MALFORMED_REQUEST');
      assert.equal(typeof res.body.message, 'string');
    });
  }

  it('a client dribbling its headers is answered 408 and cut off at the headers timeout', async () => {
    const header = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
    const { text, closedAfterMs } = await raw(port, header.split(''), 50);
    assert.ok(closedAfterMs < 600 + 100 + 500, `closed after ${closedAfterMs} ms`);
    const res = jsonOf(text);
    assert.equal(res.status, 408);
    assert.equal(res.body.code, 'REQUEST_TIMEOUT');
  });

  it('a client that never finishes its body is cut off at the request timeout', async () => {
    const head = 'POST /api/v1/mp/account/user/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const { text, closedAfterMs } = await raw(port, [ head, ...'{"jscode":"'.split('') ], 200);
    assert.ok(closedAfterMs < 1500 + 100 + 800, `closed after ${closedAfterMs} ms`);
    assert.ok(closedAfterMs >= 1000, 'not before the request timeout');
    assert.match(text, /^HTTP\/1\.1 408/);
  });

  it('a slow client that never closes its side holds no connection after the answer', async () => {
    const { server } = await clusterLikeServer(app);
    const count = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    const before = await count();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    let answered = '';
    socket.on('data', d => { answered += d; });
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // and nothing more, ever
    try {
      const deadline = Date.now() + 3000;
      while (!answered.includes('408') || (await count()) > before) {
        assert.ok(Date.now() < deadline, `still ${await count()} connections (was ${before}) after the 408`);
        await new Promise(r => setTimeout(r, 50));
      }
    } finally {
      socket.destroy();
    }
  });

  it('a prompt request on the same server is served normally', async () => {
    const { text } = await raw(port, [ 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' ]);
    assert.match(text, /^HTTP\/1\.1 200/);
  });
});
