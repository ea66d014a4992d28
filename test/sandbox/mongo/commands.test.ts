import assert from 'node:assert/strict';
import { Long, MongoClient, MongoServerError, ObjectId, type Db } from 'mongodb';
import { startMongoSandbox, type MongoSandbox } from '../../../sandbox/mongo/server';

describe('test/sandbox/mongo/commands.test.ts (official mongodb driver)', () => {
  let sandbox: MongoSandbox;
  let client: MongoClient;
  let db: Db;

  before(async () => {
    sandbox = await startMongoSandbox({ port: 0 });
    client = await MongoClient.connect(sandbox.uri, { serverSelectionTimeoutMS: 2000 });
  });
  beforeEach(() => {
    db = client.db(`cmd_${Date.now()}_${Math.floor(Math.random() * 1e6)}`);
  });
  afterEach(async () => {
    await db.dropDatabase();
  });
  after(async () => {
    await client.close();
    await sandbox.stop();
  });

  async function commandError(fn: () => Promise<unknown>): Promise<MongoServerError> {
    try {
      await fn();
    } catch (err) {
      assert.ok(err instanceof MongoServerError, `expected a server error, got ${String(err)}`);
      return err;
    }
    throw new Error('expected the command to fail');
  }

  it('stores _id: null and finds it by equality and by $type null, like mongod (CRUD spec semantics)', async () => {
    // The drivers replace a null _id with an ObjectId on insertOne; the raw command keeps it.
    assert.deepEqual(await db.command({ insert: 'nulls', documents: [{ _id: null, a: 1 }, { _id: 2, a: null }, { _id: 3 }] }), { n: 3, ok: 1 });
    const nulls = db.collection<{ _id: number | null; a?: number | null; b?: number }>('nulls');
    assert.deepEqual(await nulls.find({ _id: { $type: 'null' } }).toArray(), [{ _id: null, a: 1 }]);
    assert.deepEqual(await nulls.find({ _id: { $type: 10 } }).toArray(), [{ _id: null, a: 1 }]);
    assert.deepEqual(await nulls.find({ _id: null }).toArray(), [{ _id: null, a: 1 }]);
    // For other fields, { a: null } also matches a missing field; $type: 'null' only a stored null.
    assert.deepEqual((await nulls.find({ a: null }).toArray()).map(d => d._id), [ 2, 3 ]);
    assert.deepEqual((await nulls.find({ a: { $type: 'null' } }).toArray()).map(d => d._id), [ 2 ]);
    const dup = await db.command({ insert: 'nulls', documents: [{ _id: null }] });
    assert.equal(dup.writeErrors[0].code, 11000);
    assert.match(dup.writeErrors[0].errmsg, /dup key: \{ _id: null \}/);
    await nulls.deleteOne({ _id: null });
    const up = await nulls.updateOne({ _id: null }, { $set: { b: 1 } }, { upsert: true });
    assert.equal(up.upsertedCount, 1);
    assert.equal(up.upsertedId, null);
    assert.deepEqual(await nulls.findOne({ _id: { $type: 'null' } }), { _id: null, b: 1 });
  });

  it('answers hello like a standalone 7.0 mongod', async () => {
    const hello = await db.admin().command({ hello: 1 });
    assert.equal(hello.isWritablePrimary, true);
    assert.equal(hello.minWireVersion, 0);
    assert.equal(hello.maxWireVersion, 21);
    assert.equal(hello.maxBsonObjectSize, 16 * 1024 * 1024);
    assert.equal(hello.maxMessageSizeBytes, 48_000_000);
    assert.equal(hello.maxWriteBatchSize, 100_000);
    assert.equal(hello.logicalSessionTimeoutMinutes, 30);
    assert.equal(typeof hello.connectionId, 'number');
    assert.ok(hello.localTime instanceof Date);
    assert.equal('topologyVersion' in hello, false);
    const legacy = await db.admin().command({ isMaster: 1 });
    assert.equal(legacy.ismaster, true);
    const info = await db.admin().command({ buildInfo: 1 });
    assert.match(info.version, /^7\.0\./);
    assert.deepEqual((await db.admin().command({ ping: 1 })).ok, 1);
    const param = await db.admin().command({ getParameter: 1, featureCompatibilityVersion: 1 });
    assert.equal(param.featureCompatibilityVersion.version, '7.0');
  });

  it('refuses unknown commands with code 59 and transactions with code 20', async () => {
    const unknown = await commandError(() => db.command({ frobnicate: 1 }));
    assert.equal(unknown.code, 59);
    assert.equal(unknown.codeName, 'CommandNotFound');
    const txn = await commandError(() => db.command({ find: 'x', txnNumber: Long.fromNumber(1), autocommit: false, startTransaction: true }));
    assert.equal(txn.code, 20);
    assert.match(txn.message, /Transaction numbers are only allowed on a replica set member or mongos/);
  });

  it('creates, lists and drops collections and databases', async () => {
    await db.createCollection('a');
    const exists = await commandError(() => db.command({ create: 'a' }));
    assert.equal(exists.code, 48);
    await db.collection('b').insertOne({ x: 1 });
    const names = (await db.listCollections().toArray()).map(c => c.name).sort();
    assert.deepEqual(names, [ 'a', 'b' ]);
    const filtered = await db.listCollections({ name: 'b' }, { nameOnly: true }).toArray();
    assert.deepEqual(filtered.map(c => c.name), [ 'b' ]);
    assert.equal(await db.collection('a').drop(), true);
    assert.deepEqual((await db.listCollections().toArray()).map(c => c.name), [ 'b' ]);
    const dbs = await client.db().admin().listDatabases();
    assert.ok(dbs.databases.some(d => d.name === db.databaseName));
    await db.dropDatabase();
    const after = await client.db().admin().listDatabases();
    assert.ok(!after.databases.some(d => d.name === db.databaseName));
  });

  it('creates, lists and drops indexes with mongod errors for conflicts', async () => {
    const coll = db.collection('idx');
    assert.equal(await coll.createIndex({ email: 1 }, { unique: true }), 'email_1');
    await coll.createIndex({ at: 1 }, { expireAfterSeconds: 60, name: 'ttl' });
    const indexes = await coll.listIndexes().toArray();
    assert.deepEqual(indexes.map(i => i.name), [ '_id_', 'email_1', 'ttl' ]);
    assert.equal(indexes[1].unique, true);
    assert.equal(indexes[2].expireAfterSeconds, 60);
    const conflict = await commandError(() => coll.createIndex({ at: 1 }, { expireAfterSeconds: 30, name: 'ttl' }));
    assert.equal(conflict.code, 85);
    await coll.dropIndex('ttl');
    assert.deepEqual((await coll.listIndexes().toArray()).map(i => i.name), [ '_id_', 'email_1' ]);
    assert.equal((await commandError(() => coll.dropIndex('nope'))).code, 27);
    assert.equal((await commandError(() => coll.dropIndex('_id_'))).code, 72);
    assert.equal((await commandError(() => db.collection('missing').listIndexes().toArray())).code, 26);
    await coll.insertMany([{ email: 'x' }, { email: 'y' }]);
    await coll.dropIndexes();
    await coll.insertOne({ email: 'x' });
    const dupBuild = await commandError(() => coll.createIndex({ email: 1 }, { unique: true }));
    assert.equal(dupBuild.code, 11000);
  });

  it('enforces unique indexes on insert, update, upsert and findAndModify with mongod-shaped errors', async () => {
    const coll = db.collection('users');
    await coll.createIndex({ openId: 1 }, { unique: true });
    await coll.insertMany([{ openId: 'a' }, { openId: 'b' }]);
    const insertDup = await commandError(() => coll.insertOne({ openId: 'a' }));
    assert.equal(insertDup.code, 11000);
    assert.deepEqual(insertDup.keyValue, { openId: 'a' });
    assert.equal(insertDup.message, `E11000 duplicate key error collection: ${db.databaseName}.users index: openId_1 dup key: { openId: "a" }`);
    const raw = await db.command({ insert: 'users', documents: [{ openId: 'c' }, { openId: 'a' }, { openId: 'd' }], ordered: false });
    assert.equal(raw.ok, 1);
    assert.equal(raw.n, 2);
    assert.equal(raw.writeErrors.length, 1);
    assert.equal(raw.writeErrors[0].index, 1);
    assert.deepEqual(raw.writeErrors[0].keyPattern, { openId: 1 });
    const updateDup = await commandError(() => coll.updateOne({ openId: 'b' }, { $set: { openId: 'a' } }));
    assert.equal(updateDup.code, 11000);
    const famDup = await commandError(() => coll.findOneAndUpdate({ openId: 'b' }, { $set: { openId: 'a' } }));
    assert.equal(famDup.code, 11000);
    assert.deepEqual(famDup.keyPattern, { openId: 1 });
    const upsertDup = await commandError(() => coll.updateOne({ missing: true }, { $set: { openId: 'a' } }, { upsert: true }));
    assert.equal(upsertDup.code, 11000);
    const existingId = (await coll.findOne({ openId: 'a' }))?._id;
    const idDup = await commandError(() => coll.insertOne({ _id: existingId, openId: 'zz' }));
    assert.match(idDup.message, /index: _id_ dup key: \{ _id: ObjectId\('[0-9a-f]{24}'\) \}/);
    assert.equal(await coll.countDocuments(), 4, 'nothing stored by failed writes');
    assert.equal(await coll.countDocuments({ openId: 'b' }), 1);
  });

  it('pages a cursor through several getMore calls and kills cursors', async () => {
    const coll = db.collection('many');
    await coll.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    const first = await db.command({ find: 'many', filter: {}, sort: { i: 1 } }, { promoteLongs: false });
    assert.equal(first.cursor.firstBatch.length, 101, 'first batch caps at 101');
    assert.ok(first.cursor.id instanceof Long, 'cursor id is int64');
    let id = first.cursor.id as Long;
    let seen = first.cursor.firstBatch.length;
    let calls = 0;
    while (!id.isZero()) {
      const more = await db.command({ getMore: id, collection: 'many', batchSize: 50 }, { promoteLongs: false });
      seen += more.cursor.nextBatch.length;
      id = more.cursor.id;
      calls++;
    }
    assert.equal(seen, 250);
    assert.equal(calls, 3);
    const gone = await commandError(() => db.command({ getMore: first.cursor.id, collection: 'many' }));
    assert.equal(gone.code, 43);
    const open = await db.command({ find: 'many', filter: {}, batchSize: 10 }, { promoteLongs: false });
    const killed = await db.command({ killCursors: 'many', cursors: [ open.cursor.id, Long.fromNumber(12345) ] });
    assert.equal(killed.cursorsKilled.length, 1);
    assert.equal(killed.cursorsNotFound.length, 1);
    const viaDriver = await coll.find({ i: { $gte: 10 } }).sort({ i: -1 }).batchSize(7)
      .toArray();
    assert.equal(viaDriver.length, 240);
    assert.equal(viaDriver[0].i, 249);
  });

  it('caps a batch at 16 MiB and expires idle cursors', async () => {
    const big = 'x'.repeat(1024 * 1024);
    await db.collection('big').insertMany(Array.from({ length: 20 }, (_, i) => ({ i, big })));
    const first = await db.command({ find: 'big', filter: {} }, { promoteLongs: false });
    const n = first.cursor.firstBatch.length;
    assert.ok(n >= 15 && n < 20, `first batch stops near 16 MiB (${n} documents of 1 MiB)`);
    assert.ok(!first.cursor.id.isZero());
    const short = await startMongoSandbox({ port: 0, cursorTimeoutMs: 20 });
    try {
      const ctx = { db: 'expiry', connectionId: 0 };
      short.handler.run('insert', { insert: 'c', documents: Array.from({ length: 5 }, (_, i) => ({ _id: i })) }, ctx);
      const reply = short.handler.run('find', { find: 'c', filter: {}, batchSize: 2 }, ctx);
      assert.equal(short.handler.openCursorCount, 1);
      await new Promise(r => setTimeout(r, 40));
      assert.equal(short.handler.reapCursors(), 1);
      assert.throws(() => short.handler.run('getMore', { getMore: reply.cursor.id, collection: 'c' }, ctx), /cursor id \d+ not found/);
    } finally {
      await short.stop();
    }
  });

  it('closes a connection\'s cursors when it disconnects', async () => {
    await db.collection('c').insertMany(Array.from({ length: 30 }, (_, i) => ({ i })));
    const other = await MongoClient.connect(sandbox.uri, { maxPoolSize: 1 });
    const res = await other.db(db.databaseName).command({ find: 'c', batchSize: 5 }, { promoteLongs: false });
    assert.ok(!res.cursor.id.isZero());
    const before = sandbox.handler.openCursorCount;
    await other.close(true);
    await new Promise(r => setTimeout(r, 50));
    assert.equal(sandbox.handler.openCursorCount, before - 1);
  });

  it('finds with filter, projection, sort, skip and limit', async () => {
    const coll = db.collection('f');
    await coll.insertMany([{ n: 3, t: 'c', x: { y: 1 } }, { n: 1, t: 'a' }, { n: 2, t: 'b' }, { n: 4, t: 'd' }]);
    const docs = await coll.find({ n: { $gte: 2 } }, { projection: { _id: 0, t: 1 } }).sort({ n: -1 }).skip(1)
      .limit(2)
      .toArray();
    assert.deepEqual(docs, [{ t: 'c' }, { t: 'b' }]);
    assert.deepEqual(await coll.findOne({ 'x.y': 1 }, { projection: { _id: 0, n: 1 } }), { n: 3 });
    const single = await db.command({ find: 'f', filter: {}, limit: -2 }, { promoteLongs: false });
    assert.equal(single.cursor.firstBatch.length, 2);
    assert.ok(single.cursor.id.isZero());
    const bad = await commandError(() => coll.find({ n: { $frob: 1 } }).toArray());
    assert.equal(bad.code, 2);
  });

  it('updates: multi, upsert seeding, $setOnInsert, arrayFilters, positional, replacement', async () => {
    const coll = db.collection('u');
    await coll.insertMany([{ g: 1, v: 0, arr: [ 1, 5, 9 ] }, { g: 1, v: 0, arr: [ 2 ] }, { g: 2, v: 0, arr: [] }]);
    const many = await coll.updateMany({ g: 1 }, { $inc: { v: 1 } });
    assert.equal(many.matchedCount, 2);
    assert.equal(many.modifiedCount, 2);
    const noop = await coll.updateOne({ g: 2 }, { $set: { v: 0 } });
    assert.equal(noop.matchedCount, 1);
    assert.equal(noop.modifiedCount, 0, 'an update that changes nothing is not counted as modified');
    await coll.updateOne({ g: 1, arr: 5 }, { $set: { 'arr.$': 50 } });
    assert.deepEqual((await coll.findOne({ g: 1, v: 1, arr: 50 }))?.arr, [ 1, 50, 9 ]);
    await coll.updateMany({}, { $set: { 'arr.$[big]': 0 } }, { arrayFilters: [{ big: { $gte: 9 } }] });
    assert.deepEqual((await coll.findOne({ arr: 1 }))?.arr, [ 1, 0, 0 ]);

    const id = new ObjectId();
    const up = await coll.updateOne(
      { _id: id, 'profile.city': 'Shenzhen', kind: { $eq: 'x' }, n: { $gt: 1 } },
      { $set: { a: 1 }, $setOnInsert: { createdBy: 'upsert' } },
      { upsert: true },
    );
    assert.equal(up.upsertedCount, 1);
    assert.ok(up.upsertedId?.equals(id));
    const seeded = await coll.findOne({ _id: id });
    assert.deepEqual(seeded, { _id: id, profile: { city: 'Shenzhen' }, kind: 'x', a: 1, createdBy: 'upsert' });
    await coll.updateOne({ _id: id }, { $set: { a: 2 }, $setOnInsert: { createdBy: 'again' } }, { upsert: true });
    assert.equal((await coll.findOne({ _id: id }))?.createdBy, 'upsert', '$setOnInsert applies only on insert');

    await coll.replaceOne({ _id: id }, { only: true });
    assert.deepEqual(await coll.findOne({ _id: id }), { _id: id, only: true });

    await coll.updateOne({ _id: id }, [{ $set: { doubled: { $multiply: [ 2, 21 ] } } }]);
    assert.equal((await coll.findOne({ _id: id }))?.doubled, 42);
  });

  it('refuses updates that mongod refuses, storing nothing', async () => {
    const coll = db.collection('bad');
    const { insertedId } = await coll.insertOne({ s: 'text', n: 1 });
    const inc = await commandError(() => coll.updateOne({}, { $inc: { s: 1 } }));
    assert.equal(inc.code, 14);
    const push = await commandError(() => db.collection<{ s: unknown }>('bad').updateOne({}, { $push: { s: 1 } } as object));
    assert.equal(push.code, 2);
    const idChange = await commandError(() => coll.updateOne({}, { $set: { _id: new ObjectId() } }));
    assert.equal(idChange.code, 66);
    await coll.updateOne({ _id: insertedId }, { $set: { _id: insertedId, n: 2 } });
    const unknownOp = await db.command({ update: 'bad', updates: [{ q: {}, u: { $frob: { a: 1 } } }] });
    assert.equal(unknownOp.ok, 1, 'write errors ride in an ok reply, as with mongod');
    assert.equal(unknownOp.writeErrors[0].code, 9);
    assert.deepEqual(await coll.findOne({}), { _id: insertedId, s: 'text', n: 2 });
  });

  it('deletes one or many', async () => {
    const coll = db.collection('d');
    await coll.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]);
    assert.equal((await coll.deleteOne({ k: 1 })).deletedCount, 1);
    assert.equal((await coll.deleteMany({})).deletedCount, 2);
    assert.equal(await coll.countDocuments(), 0);
  });

  it('findAndModify: pre-image, post-image, upsert, sort, fields, remove', async () => {
    const coll = db.collection('fam');
    await coll.insertMany([{ k: 'a', n: 1 }, { k: 'a', n: 2 }]);
    const pre = await coll.findOneAndUpdate({ k: 'a' }, { $inc: { n: 10 } }, { sort: { n: -1 }, returnDocument: 'before', includeResultMetadata: true });
    assert.equal(pre.value?.n, 2);
    assert.equal(pre.lastErrorObject?.updatedExisting, true);
    const post = await coll.findOneAndUpdate({ k: 'a' }, { $inc: { n: 1 } }, { sort: { n: -1 }, returnDocument: 'after', projection: { _id: 0, n: 1 } });
    assert.deepEqual(post, { n: 13 });
    const upNew = await coll.findOneAndUpdate({ k: 'b' }, { $set: { n: 7 } }, { upsert: true, returnDocument: 'after' });
    assert.equal(upNew?.k, 'b');
    assert.equal(upNew?.n, 7);
    const upOld = await coll.findOneAndUpdate({ k: 'c' }, { $set: { n: 8 } }, { upsert: true, returnDocument: 'before' });
    assert.equal(upOld, null);
    const removed = await coll.findOneAndDelete({ k: 'a' }, { sort: { n: 1 } });
    assert.equal(removed?.n, 1);
    const missing = await coll.findOneAndUpdate({ k: 'zzz' }, { $set: { n: 0 } });
    assert.equal(missing, null);
    assert.equal(await coll.countDocuments(), 3);
  });

  it('count, distinct and aggregate', async () => {
    const coll = db.collection('agg');
    await coll.insertMany([{ c: 'x', v: 1, tags: [ 'p', 'q' ] }, { c: 'x', v: 2, tags: [ 'q' ] }, { c: 'y', v: 3 }]);
    const count = await db.command({ count: 'agg', query: { c: 'x' } });
    assert.equal(count.n, 2);
    assert.equal(await coll.countDocuments({ v: { $gt: 1 } }), 2);
    assert.deepEqual(await coll.distinct('c'), [ 'x', 'y' ]);
    assert.deepEqual(await coll.distinct('tags'), [ 'p', 'q' ]);
    const grouped = await coll.aggregate([{ $group: { _id: '$c', total: { $sum: '$v' } } }, { $sort: { _id: 1 } }]).toArray();
    assert.deepEqual(grouped, [{ _id: 'x', total: 3 }, { _id: 'y', total: 3 }]);
    await db.collection('other').insertOne({ c: 'x', label: 'ex' });
    const joined = await coll.aggregate([{ $match: { v: 1 } }, { $lookup: { from: 'other', localField: 'c', foreignField: 'c', as: 'o' } }]).toArray();
    assert.equal(joined[0].o[0].label, 'ex');
    const big = await db.collection('big').insertMany(Array.from({ length: 150 }, (_, i) => ({ i })));
    assert.equal(big.insertedCount, 150);
    assert.equal((await db.collection('big').aggregate([{ $match: {} }]).toArray()).length, 150);
  });

  it('stores copies: a caller mutating what it inserted or read changes nothing stored', () => {
    const handler = sandbox.handler;
    const ctx = { db: db.databaseName, connectionId: 0 };
    const original = { _id: 1, nested: { v: 1 } };
    handler.run('insert', { insert: 'copies', documents: [ original ] }, ctx);
    original.nested.v = 999;
    const read = handler.run('find', { find: 'copies', filter: {} }, ctx).cursor.firstBatch[0];
    assert.equal(read.nested.v, 1);
    read.nested.v = 555;
    const again = handler.run('find', { find: 'copies', filter: { _id: 1 } }, ctx).cursor.firstBatch[0];
    assert.equal(again.nested.v, 1);
  });
});
