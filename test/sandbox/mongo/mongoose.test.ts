import assert from 'node:assert/strict';
import mongoose, { Schema, type Connection } from 'mongoose';
import { startMongoSandbox, type MongoSandbox } from '../../../sandbox/mongo/server';

describe('test/sandbox/mongo/mongoose.test.ts (Mongoose 7)', () => {
  let sandbox: MongoSandbox;
  let conn: Connection;

  before(async () => {
    sandbox = await startMongoSandbox({ port: 0, ttlMonitorMs: 100 });
    conn = await mongoose.createConnection(`${sandbox.uri}/mongoose_test`, { serverSelectionTimeoutMS: 2000 }).asPromise();
  });
  afterEach(async () => {
    await conn.dropDatabase();
    for (const name of Object.keys(conn.models)) conn.deleteModel(name);
  });
  after(async () => {
    await conn.close();
    await sandbox.stop();
  });

  it('reports a duplicate key the way Mongoose users check for it', async () => {
    const User = conn.model('user', new Schema({ openId: { type: String, unique: true } }));
    await User.init();
    await User.create({ openId: 'o1' });
    await assert.rejects(User.create({ openId: 'o1' }), (err: Error & { code?: number; keyValue?: unknown; keyPattern?: unknown }) => {
      assert.equal(err.name, 'MongoServerError');
      assert.equal(err.code, 11000);
      assert.deepEqual(err.keyValue, { openId: 'o1' });
      assert.deepEqual(err.keyPattern, { openId: 1 });
      assert.match(err.message, /^E11000 duplicate key error collection: mongoose_test\.users index: openId_1 dup key: \{ openId: "o1" \}$/);
      return true;
    });
    assert.equal(await User.countDocuments(), 1);
  });

  it('findOneAndUpdate with upsert returns the new document with new:true and the pre-image without', async () => {
    const Token = conn.model('token', new Schema({ type: Number, access_token: String }, { timestamps: { createdAt: 'created', updatedAt: 'updated' } }));
    const created = await Token.findOneAndUpdate({ type: 1 }, { access_token: 'A' }, { upsert: true, new: true });
    assert.equal(created?.type, 1, 'seeded from the filter');
    assert.equal(created?.access_token, 'A');
    assert.ok(created?.get('created') instanceof Date, 'timestamps set on insert');
    const pre = await Token.findOneAndUpdate({ type: 1 }, { access_token: 'B' });
    assert.equal(pre?.access_token, 'A', 'without new the pre-image is returned');
    const post = await Token.findOne({ type: 1 }).lean();
    assert.equal(post?.access_token, 'B');
    assert.equal(await Token.countDocuments(), 1);
    const none = await Token.findOneAndUpdate({ type: 2 }, { access_token: 'C' }, { upsert: true });
    assert.equal(none, null, 'an upsert that inserts has no pre-image');
  });

  it('deletes expired documents through a TTL index, keeping those without a date', async () => {
    const Session = conn.model('session', new Schema({ endTime: { type: Schema.Types.Mixed, index: { expires: 1 } }, label: String }));
    await Session.init();
    const indexes = await Session.listIndexes();
    const ttl = indexes.find(i => i.key.endTime === 1);
    assert.equal(ttl?.expireAfterSeconds, 1);
    await Session.create([
      { endTime: new Date(Date.now() - 5000), label: 'old' },
      { endTime: new Date(Date.now() + 60_000), label: 'fresh' },
      { endTime: 'not a date', label: 'string' },
      { label: 'missing' },
    ]);
    const deadline = Date.now() + 2000;
    while (await Session.exists({ label: 'old' }) && Date.now() < deadline) await new Promise(r => setTimeout(r, 50));
    const left = (await Session.find().lean()).map(s => s.label).sort();
    assert.deepEqual(left, [ 'fresh', 'missing', 'string' ]);
  });

  it('runs a typical model lifecycle: save, query, update, delete', async () => {
    const Item = conn.model('item', new Schema({ name: String, qty: Number, tags: [ String ] }, { timestamps: true }));
    const item = await new Item({ name: 'a', qty: 1 }).save();
    item.qty = 5;
    item.tags.push('x');
    await item.save();
    const read = await Item.findById(item._id).lean();
    assert.equal(read?.qty, 5);
    assert.deepEqual(read?.tags, [ 'x' ]);
    await Item.updateOne({ _id: item._id }, { $inc: { qty: 2 } });
    assert.equal((await Item.findById(item._id))?.qty, 7);
    await Item.deleteOne({ _id: item._id });
    assert.equal(await Item.countDocuments(), 0);
  });
});
