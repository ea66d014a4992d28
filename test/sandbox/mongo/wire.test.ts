import assert from 'node:assert/strict';
import net from 'node:net';
import { deserialize, serialize, type Document } from 'bson';
import { MongoClient } from 'mongodb';
import { startMongoSandbox, type MongoSandbox } from '../../../sandbox/mongo/server';
import { MessageFramer, OP_COMPRESSED, OP_MSG, OP_QUERY, OP_REPLY } from '../../../sandbox/mongo/wire';

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function opQuery(requestId: number, ns: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const name = Buffer.from(`${ns}\0`);
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(-1, 4);
  const doc = Buffer.from(serialize(query));
  const body = Buffer.concat([ flags, name, skipReturn, doc ]);
  return Buffer.concat([ header(16 + body.length, requestId, OP_QUERY), body ]);
}

function opMsg(requestId: number, body: Document, flags = 0, sequence?: { id: string; docs: Document[] }): Buffer {
  const parts: Buffer[] = [ Buffer.alloc(4), Buffer.from([ 0 ]), Buffer.from(serialize(body)) ];
  parts[0].writeUInt32LE(flags, 0);
  if (sequence) {
    const docs = Buffer.concat(sequence.docs.map(d => Buffer.from(serialize(d))));
    const id = Buffer.from(`${sequence.id}\0`);
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + id.length + docs.length, 0);
    parts.push(Buffer.from([ 1 ]), size, id, docs);
  }
  const payload = Buffer.concat(parts);
  return Buffer.concat([ header(16 + payload.length, requestId, OP_MSG), payload ]);
}

interface Reply {
  responseTo: number;
  opCode: number;
  doc: Document;
}

/** A raw client: writes bytes, collects replies, reports close. */
class RawClient {
  readonly socket: net.Socket;
  readonly replies: Reply[] = [];
  closed = false;
  private readonly framer = new MessageFramer();

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', chunk => {
      for (const msg of this.framer.push(chunk)) {
        const opCode = msg.readInt32LE(12);
        const offset = opCode === OP_REPLY ? 36 : 21;
        this.replies.push({ responseTo: msg.readInt32LE(8), opCode, doc: deserialize(msg.subarray(offset)) });
      }
    });
    this.socket.on('close', () => { this.closed = true; });
    this.socket.on('error', () => undefined);
  }

  async connected(): Promise<void> {
    if (this.socket.readyState === 'open') return;
    await new Promise(resolve => this.socket.once('connect', resolve));
  }

  async waitFor(predicate: () => boolean, ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > until) throw new Error('timed out waiting');
      await new Promise(r => setTimeout(r, 5));
    }
  }
}

describe('test/sandbox/mongo/wire.test.ts', () => {
  let sandbox: MongoSandbox;

  before(async () => {
    sandbox = await startMongoSandbox({ port: 0 });
  });
  after(async () => {
    await sandbox.stop();
  });

  it('answers the legacy OP_QUERY handshake with OP_REPLY, even when split byte by byte', async () => {
    const client = new RawClient(sandbox.port);
    await client.connected();
    const msg = opQuery(7, 'admin.$cmd', { ismaster: 1, client: { driver: { name: 'raw' } } });
    for (const byte of msg) {
      client.socket.write(Buffer.from([ byte ]));
    }
    await client.waitFor(() => client.replies.length === 1);
    const [ reply ] = client.replies;
    assert.equal(reply.opCode, OP_REPLY);
    assert.equal(reply.responseTo, 7);
    assert.equal(reply.doc.ismaster, true);
    assert.equal(reply.doc.maxWireVersion, 21);
    client.socket.destroy();
  });

  it('answers several OP_MSG in one chunk, merges document sequences, and skips replies for moreToCome', async () => {
    const client = new RawClient(sandbox.port);
    await client.connected();
    const chunk = Buffer.concat([
      opMsg(1, { insert: 'seq', $db: 'wire', documents: [{ n: 0 }] }, 0, { id: 'documents', docs: [{ n: 1 }, { n: 2 }] }),
      opMsg(2, { insert: 'seq', $db: 'wire', documents: [{ n: 3 }], writeConcern: { w: 0 } }, 2),
      opMsg(3, { count: 'seq', $db: 'wire' }),
    ]);
    client.socket.write(chunk);
    await client.waitFor(() => client.replies.length === 2);
    await new Promise(r => setTimeout(r, 30));
    assert.deepEqual(client.replies.map(r => r.responseTo), [ 1, 3 ], 'no reply to the moreToCome message');
    assert.equal(client.replies[0].doc.n, 3, 'body documents and the sequence are merged');
    assert.equal(client.replies[1].doc.n, 4);
    client.socket.destroy();
  });

  for (const [ label, bytes ] of [
    [ 'garbage bytes', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') ],
    [ 'an oversize length', (() => { const b = header(64 * 1024 * 1024, 1, OP_MSG); return b; })() ],
    [ 'a length under 16', (() => { const b = Buffer.alloc(16); b.writeInt32LE(8, 0); return b; })() ],
    [ 'corrupt BSON', (() => { const m = opMsg(1, { ping: 1, $db: 'admin' }); m.writeInt32LE(9999, 21); return m; })() ],
    [ 'OP_COMPRESSED', (() => { const b = Buffer.alloc(25); b.writeInt32LE(25, 0); b.writeInt32LE(OP_COMPRESSED, 12); return b; })() ],
  ] as const) {
    it(`closes only the connection that sent ${label}; other clients keep working`, async () => {
      const good = await MongoClient.connect(sandbox.uri, { serverSelectionTimeoutMS: 2000 });
      const coll = good.db('wire').collection('survivors');
      await coll.insertOne({ before: label });
      const bad = new RawClient(sandbox.port);
      await bad.connected();
      bad.socket.write(bytes);
      await bad.waitFor(() => bad.closed);
      assert.equal(bad.replies.length, 0);
      await coll.insertOne({ after: label });
      assert.equal(await coll.countDocuments({ $or: [{ before: label }, { after: label }] }), 2);
      await good.close();
    });
  }
});
