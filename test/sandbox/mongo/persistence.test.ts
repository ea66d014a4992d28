import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import mongoose from 'mongoose';
import { startMongoSandbox } from '../../../sandbox/mongo/server';
import { spawnSandbox, waitExit } from '../../helpers/process';

describe('test/sandbox/mongo/persistence.test.ts', () => {
  let dbpath: string;

  beforeEach(() => {
    dbpath = fs.mkdtempSync(path.join(os.tmpdir(), 'mongo-sandbox-'));
  });
  afterEach(() => {
    fs.rmSync(dbpath, { recursive: true, force: true });
  });

  it('keeps documents and indexes across a clean restart', async () => {
    const first = await startMongoSandbox({ port: 0, dbpath });
    const c1 = await MongoClient.connect(first.uri);
    await c1.db('p').collection('users').createIndex({ openId: 1 }, { unique: true });
    await c1.db('p').collection('users').insertMany([{ openId: 'a', at: new Date(5) }, { openId: 'b' }]);
    await c1.close();
    await first.stop();

    const second = await startMongoSandbox({ port: 0, dbpath });
    const c2 = await MongoClient.connect(second.uri);
    const users = c2.db('p').collection('users');
    const a = await users.findOne({ openId: 'a' });
    assert.ok(a?.at instanceof Date, 'BSON types survive');
    assert.equal(a?.at.getTime(), 5);
    assert.equal(await users.countDocuments(), 2);
    await assert.rejects(users.insertOne({ openId: 'a' }), /E11000/, 'unique index survives');
    await c2.close();
    await second.stop();
  });

  it('after kill -9 loses at most the last second of acknowledged writes and never corrupts the store', async function() {
    this.timeout(60_000);
    const proc = await spawnSandbox([ '--mongo-port', '0', '--dbpath', dbpath ]);
    const client = await MongoClient.connect(proc.urls.mongo, { serverSelectionTimeoutMS: 2000 });
    const coll = client.db('k').collection('writes');
    const acked: { seq: number; at: number }[] = [];
    const stopAt = Date.now() + 1500;
    for (let seq = 0; Date.now() < stopAt; seq++) {
      await coll.insertOne({ seq, payload: 'x'.repeat(200) });
      acked.push({ seq, at: Date.now() });
    }
    proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitExit(proc.child);
    await client.close(true);

    const restarted = await startMongoSandbox({ port: 0, dbpath });
    const reader = await MongoClient.connect(restarted.uri);
    const stored = new Set((await reader.db('k').collection('writes').find()
      .toArray()).map(d => d.seq as number));
    const mustHave = acked.filter(a => a.at < killedAt - 1000);
    assert.ok(mustHave.length > 10, `enough writes before the last second (${mustHave.length})`);
    for (const a of mustHave) assert.ok(stored.has(a.seq), `write ${a.seq} acknowledged >1 s before the kill is present`);
    await reader.close();
    await restarted.stop();
  });

  it('npm run sandbox serves clients from another process and stops cleanly on SIGTERM', async function() {
    this.timeout(30_000);
    const proc = await spawnSandbox([ '--mongo-port', '0', '--dbpath', dbpath, '--ttl-monitor-ms', '100' ]);
    assert.match(proc.urls.mongo, /^mongodb:\/\/127\.0\.0\.1:\d+$/);
    const client = await MongoClient.connect(proc.urls.mongo);
    await client.db('cli').collection('x').insertOne({ kept: true });
    await client.close();
    const conn = await mongoose.createConnection(`${proc.urls.mongo}/cli`).asPromise();
    const Thing = conn.model('thing', new mongoose.Schema({ name: { type: String, unique: true } }));
    await Thing.init();
    await Thing.create({ name: 'from mongoose' });
    assert.equal((await Thing.findOne({ name: 'from mongoose' }).lean())?.name, 'from mongoose');
    await conn.close();
    proc.child.kill('SIGTERM');
    assert.equal(await waitExit(proc.child), 0);
    const again = await startMongoSandbox({ port: 0, dbpath });
    const c = await MongoClient.connect(again.uri);
    assert.equal(await c.db('cli').collection('x').countDocuments({ kept: true }), 1, 'flushed on SIGTERM');
    await c.close();
    await again.stop();
  });
});
