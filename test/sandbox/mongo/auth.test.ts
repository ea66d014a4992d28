import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import mongoose from 'mongoose';
import { startMongoSandbox, type MongoSandbox } from '../../../sandbox/mongo/server';
import { spawnSandbox, waitExit } from '../../helpers/process';

const USER = 'wxmp_app';
const PASSWORD = 'sandbox-db-password-5f1c';

describe('test/sandbox/mongo/auth.test.ts (SCRAM-SHA-256, like mongod --auth)', () => {
  let sandbox: MongoSandbox;
  const host = () => `127.0.0.1:${sandbox.port}`;
  const connect = (uri: string) => MongoClient.connect(uri, { serverSelectionTimeoutMS: 2000 });

  before(async () => {
    sandbox = await startMongoSandbox({ port: 0, users: [{ username: USER, password: PASSWORD }] });
  });
  after(() => sandbox.stop());

  it('driver 7: the right credentials read and write; the server signature checks out', async () => {
    const client = await connect(`mongodb://${USER}:${PASSWORD}@${host()}/app?authSource=admin&authMechanism=SCRAM-SHA-256`);
    try {
      const users = client.db('app').collection('users');
      await users.insertOne({ openId: 'o1' });
      assert.equal((await users.findOne({ openId: 'o1' }))?.openId, 'o1');
    } finally {
      await client.close();
    }
  });

  it('driver 7 picks SCRAM-SHA-256 from hello without being told (saslSupportedMechs)', async () => {
    const client = await connect(`mongodb://${USER}:${PASSWORD}@${host()}/app?authSource=admin`);
    try {
      assert.deepEqual(await client.db('app').command({ ping: 1 }), { ok: 1 });
      assert.equal(await client.db('app').collection('users').countDocuments(), 1);
    } finally {
      await client.close();
    }
  });

  it('Mongoose 7 (driver 5) authenticates with credentials given apart from the URI', async () => {
    const conn = await mongoose.createConnection(`mongodb://${host()}/app`, {
      auth: { username: USER, password: PASSWORD }, authSource: 'admin', serverSelectionTimeoutMS: 2000,
    }).asPromise();
    try {
      assert.equal(await conn.collection('users').countDocuments(), 1);
    } finally {
      await conn.close();
    }
  });

  it('a user defined in admin is unknown to another authSource (the path\'s database by default), as in mongod', async () => {
    await assert.rejects(connect(`mongodb://${USER}:${PASSWORD}@${host()}/app`), (err: Error & { code?: number }) => err.code === 18);
  });

  it('a wrong password or an unknown user is code 18 AuthenticationFailed', async () => {
    for (const creds of [ `${USER}:wrong-password`, `nobody:${PASSWORD}` ]) {
      await assert.rejects(connect(`mongodb://${creds}@${host()}/app?authSource=admin`), (err: Error & { code?: number }) => {
        assert.equal(err.code, 18, err.message);
        return true;
      });
    }
  });

  it('an unauthenticated client may say hello and ping, anything else is code 13 Unauthorized', async () => {
    const client = await connect(`mongodb://${host()}/app`);
    try {
      assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
      await assert.rejects(client.db('app').collection('users').findOne({}), (err: Error & { code?: number; codeName?: string }) => {
        assert.equal(err.code, 13);
        assert.equal(err.codeName, 'Unauthorized');
        return true;
      });
      await assert.rejects(client.db('app').collection('users').insertOne({ x: 1 }), /requires authentication/);
    } finally {
      await client.close();
    }
  });

  it('npm run sandbox -- --auth user:password requires it too', async function() {
    this.timeout(30_000);
    const proc = await spawnSandbox([ '--mongo-port', '0', '--auth', `${USER}:${PASSWORD}` ], [ 'mongo' ]);
    try {
      const uri = proc.urls.mongo;
      const open = await connect(`${uri}/app`);
      await assert.rejects(open.db('app').collection('x').findOne({}), /requires authentication/);
      await open.close();
      const authed = await connect(uri.replace('mongodb://', `mongodb://${USER}:${PASSWORD}@`) + '/app?authSource=admin');
      await authed.db('app').collection('x').insertOne({ ok: true });
      await authed.close();
      assert.ok(!proc.output.join('').includes(PASSWORD), 'the sandbox prints no password');
    } finally {
      proc.child.kill('SIGTERM');
      await waitExit(proc.child);
    }
  });
});
