/**
 * Command handlers. Every handler runs synchronously against in-memory storage, so each
 * command (findAndModify included) is atomic with respect to every other client.
 */
import { calculateObjectSize, Long, ObjectId, serialize, type Document } from 'bson';
import { aggregate as mingoAggregate, find as mingoFind } from 'mingo';
import type { Collection, IndexSpec, Storage } from './storage';
import { CommandError, errors } from './errors';
import { applyUpdate, upsertDocument, validateUpdate } from './update';
import { cloneDoc, idFirst, isPlainObject } from './values';
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE } from './wire';

export const SERVER_VERSION = '7.0.14';
const MAX_WRITE_BATCH_SIZE = 100_000;
const FIRST_BATCH_DEFAULT = 101;
const BATCH_BYTES = 16 * 1024 * 1024;

export interface CommandContext {
  db: string;
  connectionId: number;
}

interface OpenCursor {
  ns: string;
  docs: Document[];
  connectionId: number;
  lastUsed: number;
}

function takeBatch(docs: Document[], max: number): Document[] {
  const batch: Document[] = [];
  let bytes = 0;
  while (batch.length < max && docs.length) {
    const size = calculateObjectSize(docs[0]);
    if (batch.length && bytes + size > BATCH_BYTES) break;
    bytes += size;
    batch.push(docs.shift() as Document);
  }
  return batch;
}

/**
 * Inclusion projections of top-level fields (`{ a: 1, b: 1, _id: 0 }`), the shape drivers
 * and Mongoose send on hot paths, without building a mingo query; undefined for anything
 * else. Fields keep the document's order, as mongod returns them.
 */
function simpleProjection(docs: Document[], projection?: Document): Document[] | undefined {
  if (!projection || !Object.keys(projection).length) return docs;
  const include = new Set<string>();
  let keepId = true;
  for (const [ field, value ] of Object.entries(projection)) {
    if (field === '_id' && (value === 0 || value === false)) keepId = false;
    else if ((value === 1 || value === true) && !field.includes('.') && !field.startsWith('$')) include.add(field);
    else return undefined;
  }
  return docs.map(doc => {
    const out: Document = {};
    for (const key of Object.keys(doc)) {
      if (key === '_id' ? keepId : include.has(key)) out[key] = doc[key];
    }
    return out;
  });
}

function str(body: Document, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || !v) throw errors.typeMismatch(`BSON field '${field}' is the wrong type '${typeof v}', expected type 'string'`);
  return v;
}

function doc(body: Document, field: string, fallback: Document = {}): Document {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (!isPlainObject(v)) throw errors.typeMismatch(`BSON field '${field}' is the wrong type, expected type 'object'`);
  return v;
}

function num(body: Document, field: string, fallback: number): number {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number') throw errors.typeMismatch(`BSON field '${field}' is the wrong type, expected a number`);
  return v;
}

function docArray(body: Document, field: string): Document[] {
  const v = body[field];
  if (!Array.isArray(v) || !v.every(isPlainObject)) throw errors.typeMismatch(`BSON field '${field}' must be an array of objects`);
  return v as Document[];
}

/** Converts mingo's exceptions (unknown operator, bad expression) into mongod-like errors. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CommandError) throw err;
    throw errors.badValue((err as Error).message);
  }
}

export class CommandHandler {
  private readonly cursors = new Map<string, OpenCursor>();
  private nextCursorId = BigInt(Date.now()) * 1000n;

  constructor(private readonly storage: Storage, private readonly cursorTimeoutMs = 10 * 60_000) {}

  run(name: string, body: Document, ctx: CommandContext): Document {
    if (body.txnNumber !== undefined || body.startTransaction !== undefined || body.autocommit !== undefined ||
        name === 'commitTransaction' || name === 'abortTransaction') {
      throw errors.illegalOperation('Transaction numbers are only allowed on a replica set member or mongos');
    }
    switch (name) {
      case 'hello': case 'isMaster': case 'ismaster': return this.hello(ctx);
      case 'ping': return { ok: 1 };
      case 'buildInfo': case 'buildinfo': return this.buildInfo();
      case 'getParameter': return this.getParameter(body);
      case 'endSessions': return { ok: 1 };
      case 'listDatabases': return this.listDatabases(body);
      case 'create': return this.create(ctx.db, str(body, 'create'));
      case 'listCollections': return this.listCollections(ctx, body);
      case 'drop': return this.drop(ctx.db, str(body, 'drop'));
      case 'dropDatabase': this.storage.dropDatabase(ctx.db); return { dropped: ctx.db, ok: 1 };
      case 'createIndexes': return this.createIndexes(ctx.db, str(body, 'createIndexes'), docArray(body, 'indexes'));
      case 'listIndexes': return this.listIndexes(ctx, str(body, 'listIndexes'), body);
      case 'dropIndexes': return this.dropIndexes(ctx.db, str(body, 'dropIndexes'), body.index);
      case 'insert': return this.insert(ctx.db, str(body, 'insert'), body);
      case 'find': return this.find(ctx, str(body, 'find'), body);
      case 'getMore': return this.getMore(ctx.db, body);
      case 'killCursors': return this.killCursors(body);
      case 'update': return this.update(ctx.db, str(body, 'update'), body);
      case 'delete': return this.delete(ctx.db, str(body, 'delete'), body);
      case 'findAndModify': case 'findandmodify': return this.findAndModify(ctx.db, str(body, name), body);
      case 'count': return this.count(ctx.db, str(body, 'count'), body);
      case 'distinct': return this.distinct(ctx.db, str(body, 'distinct'), body);
      case 'aggregate': return this.aggregate(ctx, body);
      default: throw errors.commandNotFound(name);
    }
  }

  /** Cursors opened on a connection die with it. */
  closeConnection(connectionId: number): void {
    for (const [ id, cursor ] of this.cursors) if (cursor.connectionId === connectionId) this.cursors.delete(id);
  }

  /** Drops cursors idle for longer than the timeout; returns how many. */
  reapCursors(now = Date.now()): number {
    let n = 0;
    for (const [ id, cursor ] of this.cursors) {
      if (now - cursor.lastUsed > this.cursorTimeoutMs) {
        this.cursors.delete(id);
        n++;
      }
    }
    return n;
  }

  get openCursorCount(): number {
    return this.cursors.size;
  }

  private hello(ctx: CommandContext): Document {
    return {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE,
      maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: ctx.connectionId,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
  }

  private buildInfo(): Document {
    return {
      version: SERVER_VERSION,
      gitVersion: 'sandbox',
      versionArray: SERVER_VERSION.split('.').map(Number).concat(0),
      bits: 64,
      debug: false,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      storageEngines: [ 'sandbox' ],
      ok: 1,
    };
  }

  private getParameter(body: Document): Document {
    const known: Document = { featureCompatibilityVersion: { version: '7.0' }, maxBSONDepth: 100 };
    if (body.getParameter === '*') return { ...known, ok: 1 };
    const reply: Document = { ok: 1 };
    for (const key of Object.keys(body)) if (key in known) reply[key] = known[key];
    return reply;
  }

  private listDatabases(body: Document): Document {
    const databases = [ ...this.storage.dbs.keys() ].map(name => ({ name, sizeOnDisk: 0, empty: false }));
    if (body.nameOnly) return { databases: databases.map(d => ({ name: d.name })), ok: 1 };
    return { databases, totalSize: 0, totalSizeMb: 0, ok: 1 };
  }

  private create(db: string, name: string): Document {
    if (name.includes('$') || name.startsWith('system.')) throw errors.invalidNamespace(`Invalid collection name: ${name}`);
    const { created } = this.storage.ensureCollection(db, name);
    if (!created) throw errors.namespaceExists(`Collection ${db}.${name} already exists.`);
    return { ok: 1 };
  }

  private drop(db: string, name: string): Document {
    const dropped = this.storage.dropCollection(db, name);
    return dropped ? { nIndexesWas: dropped.indexes.size, ns: `${db}.${name}`, ok: 1 } : { ok: 1 };
  }

  private listCollections(ctx: CommandContext, body: Document): Document {
    const colls = [ ...(this.storage.dbs.get(ctx.db)?.values() ?? []) ].map(c => ({
      name: c.name,
      type: 'collection',
      options: {},
      info: { readOnly: false },
      idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
    }));
    const filter = doc(body, 'filter');
    const matched = guard(() => mingoFind(colls, filter).all() as Document[]);
    const out = body.nameOnly ? matched.map(c => ({ name: c.name, type: c.type })) : matched;
    return this.openCursor(`${ctx.db}.$cmd.listCollections`, out, ctx.connectionId, doc(body, 'cursor'));
  }

  private requireCollection(db: string, name: string): Collection {
    const coll = this.storage.collection(db, name);
    if (!coll) throw errors.namespaceNotFound(`ns does not exist: ${db}.${name}`);
    return coll;
  }

  private createIndexes(db: string, name: string, specs: Document[]): Document {
    const { coll, created } = this.storage.ensureCollection(db, name);
    const before = coll.indexes.size;
    for (const raw of specs) {
      const key = raw.key;
      if (!isPlainObject(key) || !Object.keys(key).length) throw errors.badValue('Index key pattern must be a non-empty object');
      const name = typeof raw.name === 'string' ? raw.name : Object.entries(key).map(([ f, d ]) => `${f}_${d}`).join('_');
      const spec: IndexSpec = { v: 2, key, name };
      if (raw.unique) spec.unique = true;
      if (raw.sparse) spec.sparse = true;
      if (typeof raw.expireAfterSeconds === 'number') spec.expireAfterSeconds = raw.expireAfterSeconds;
      if (isPlainObject(raw.partialFilterExpression)) spec.partialFilterExpression = raw.partialFilterExpression;
      const existing = coll.indexes.get(name);
      if (existing) {
        if (JSON.stringify(existing.spec.key) !== JSON.stringify(key)) {
          throw errors.indexKeySpecsConflict(`An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.spec)}`);
        }
        if (!!existing.spec.unique !== !!spec.unique || existing.spec.expireAfterSeconds !== spec.expireAfterSeconds || !!existing.spec.sparse !== !!spec.sparse) {
          throw errors.indexOptionsConflict(`An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.spec)}`);
        }
        continue;
      }
      const sameKey = [ ...coll.indexes.values() ].find(i => JSON.stringify(i.spec.key) === JSON.stringify(key));
      if (sameKey && !spec.partialFilterExpression) {
        throw errors.indexOptionsConflict(`Index already exists with a different name: ${sameKey.spec.name}`);
      }
      coll.addIndex(spec);
    }
    const reply: Document = { numIndexesBefore: before, numIndexesAfter: coll.indexes.size, createdCollectionAutomatically: created, ok: 1 };
    if (before === coll.indexes.size) reply.note = 'all indexes already exist';
    return reply;
  }

  private listIndexes(ctx: CommandContext, name: string, body: Document): Document {
    const coll = this.requireCollection(ctx.db, name);
    const specs = [ ...coll.indexes.values() ].map(i => ({ ...i.spec }));
    return this.openCursor(`${ctx.db}.${name}`, specs, ctx.connectionId, doc(body, 'cursor'));
  }

  private dropIndexes(db: string, name: string, which: unknown): Document {
    const coll = this.requireCollection(db, name);
    const nIndexesWas = coll.indexes.size;
    const names: string[] = [];
    if (which === '*') {
      names.push(...[ ...coll.indexes.keys() ].filter(n => n !== '_id_'));
    } else {
      for (const w of Array.isArray(which) ? which : [ which ]) {
        const found = typeof w === 'string'
          ? coll.indexes.get(w)
          : [ ...coll.indexes.values() ].find(i => JSON.stringify(i.spec.key) === JSON.stringify(w));
        if (!found) throw errors.indexNotFound(`index not found with name [${typeof w === 'string' ? w : JSON.stringify(w)}]`);
        if (found.spec.name === '_id_') throw errors.invalidOptions('cannot drop _id index');
        names.push(found.spec.name);
      }
    }
    names.forEach(n => coll.dropIndex(n));
    return { nIndexesWas, ok: 1 };
  }

  private insert(db: string, name: string, body: Document): Document {
    const documents = docArray(body, 'documents');
    const ordered = body.ordered !== false;
    const { coll } = this.storage.ensureCollection(db, name);
    const writeErrors: Document[] = [];
    let n = 0;
    for (let i = 0; i < documents.length; i++) {
      try {
        const d = cloneDoc(documents[i]);
        if (d._id === undefined) d._id = new ObjectId();
        if (Array.isArray(d._id)) throw errors.badValue("can't use an array for _id");
        coll.insert(idFirst(d));
        n++;
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        writeErrors.push(err.toWriteError(i));
        if (ordered) break;
      }
    }
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  /** Documents matching `filter`, sorted, skipped, limited and projected. */
  private query(coll: Collection | undefined, filter: Document, opts: { sort?: Document; skip?: number; limit?: number; projection?: Document }): Document[] {
    if (!coll) return [];
    const candidates = coll.candidatesFor(filter);
    if (candidates && Object.keys(filter).length === 1 && !opts.skip) {
      // A lone equality answered by an exact index lookup: the candidates match as they are.
      const simple = simpleProjection(candidates, opts.projection);
      if (simple) return simple;
    }
    const source = candidates ?? coll.all();
    return guard(() => {
      const projection = opts.projection && Object.keys(opts.projection).length ? opts.projection : undefined;
      let cursor = mingoFind(source, filter, projection);
      if (opts.sort && Object.keys(opts.sort).length) cursor = cursor.sort(opts.sort as Record<string, 1 | -1>);
      if (opts.skip) cursor = cursor.skip(opts.skip);
      if (opts.limit) cursor = cursor.limit(opts.limit);
      return cursor.all() as Document[];
    });
  }

  private openCursor(ns: string, docs: Document[], connectionId: number, cursorOpts: Document, singleBatch = false, firstMax = FIRST_BATCH_DEFAULT): Document {
    const batchSize = typeof cursorOpts.batchSize === 'number' ? cursorOpts.batchSize : firstMax;
    const rest = [ ...docs ];
    const firstBatch = takeBatch(rest, batchSize === 0 && !singleBatch ? 0 : Math.max(batchSize, 1)).map(cloneDoc);
    let id = Long.ZERO;
    if (rest.length && !singleBatch) {
      this.nextCursorId += 1n;
      id = Long.fromBigInt(this.nextCursorId);
      this.cursors.set(id.toString(), { ns, docs: rest.map(cloneDoc), connectionId, lastUsed: Date.now() });
    }
    return { cursor: { firstBatch, id, ns }, ok: 1 };
  }

  private find(ctx: CommandContext, name: string, body: Document): Document {
    const filter = doc(body, 'filter');
    const rawLimit = num(body, 'limit', 0);
    const singleBatch = body.singleBatch === true || rawLimit < 0;
    const docs = this.query(this.storage.collection(ctx.db, name), filter, {
      sort: doc(body, 'sort'),
      projection: doc(body, 'projection'),
      skip: num(body, 'skip', 0),
      limit: Math.abs(rawLimit),
    });
    const batchSize = typeof body.batchSize === 'number' ? body.batchSize : (singleBatch && rawLimit ? Math.abs(rawLimit) : FIRST_BATCH_DEFAULT);
    return this.openCursor(`${ctx.db}.${name}`, docs, ctx.connectionId, { batchSize }, singleBatch);
  }

  private getMore(db: string, body: Document): Document {
    const raw = body.getMore;
    const id = raw instanceof Long ? raw.toString() : String(raw);
    const cursor = this.cursors.get(id);
    const collection = str(body, 'collection');
    if (!cursor) throw errors.cursorNotFound(id);
    if (cursor.ns !== `${db}.${collection}` && !cursor.ns.startsWith(`${db}.$cmd`)) {
      throw new CommandError(13, 'Unauthorized', `Requested getMore on namespace '${db}.${collection}', but cursor belongs to a different namespace ${cursor.ns}`);
    }
    cursor.lastUsed = Date.now();
    const nextBatch = takeBatch(cursor.docs, typeof body.batchSize === 'number' && body.batchSize > 0 ? body.batchSize : Number.MAX_SAFE_INTEGER);
    let outId = Long.fromString(id);
    if (!cursor.docs.length) {
      this.cursors.delete(id);
      outId = Long.ZERO;
    }
    return { cursor: { nextBatch, id: outId, ns: cursor.ns }, ok: 1 };
  }

  private killCursors(body: Document): Document {
    const ids = Array.isArray(body.cursors) ? body.cursors : [];
    const cursorsKilled: Long[] = [];
    const cursorsNotFound: Long[] = [];
    for (const raw of ids) {
      const id = raw instanceof Long ? raw : Long.fromValue(raw as number);
      (this.cursors.delete(id.toString()) ? cursorsKilled : cursorsNotFound).push(id);
    }
    return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  private update(db: string, name: string, body: Document): Document {
    const updates = docArray(body, 'updates');
    const ordered = body.ordered !== false;
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (let i = 0; i < updates.length; i++) {
      const stmt = updates[i];
      try {
        const filter = doc(stmt, 'q');
        const u = validateUpdate(stmt.u);
        const arrayFilters = Array.isArray(stmt.arrayFilters) ? stmt.arrayFilters as Document[] : undefined;
        const existing = this.storage.collection(db, name);
        let matches = this.query(existing, filter, { limit: stmt.multi ? 0 : 1 });
        if (!stmt.multi) matches = matches.slice(0, 1);
        if (!matches.length && stmt.upsert) {
          const created = upsertDocument(filter, u, arrayFilters);
          this.storage.ensureCollection(db, name).coll.insert(created);
          upserted.push({ index: i, _id: created._id });
          n++;
          continue;
        }
        if (!existing) continue;
        // Compute every new version first so a failing document leaves the others untouched.
        for (const stored of matches) {
          const next = applyUpdate(stored, u, { filter, arrayFilters, isInsert: false });
          n++;
          if (!Buffer.from(serialize(next)).equals(serialize(stored))) {
            existing.replace(next);
            nModified++;
          }
        }
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        writeErrors.push(err.toWriteError(i));
        if (ordered) break;
      }
    }
    const reply: Document = { n, nModified, ok: 1 };
    if (upserted.length) reply.upserted = upserted;
    if (writeErrors.length) reply.writeErrors = writeErrors;
    return reply;
  }

  private delete(db: string, name: string, body: Document): Document {
    const deletes = docArray(body, 'deletes');
    const coll = this.storage.collection(db, name);
    let n = 0;
    for (const stmt of deletes) {
      const limit = num(stmt, 'limit', 0);
      const matches = this.query(coll, doc(stmt, 'q'), { limit: limit === 1 ? 1 : 0 });
      for (const m of matches) {
        coll?.remove(m);
        n++;
      }
    }
    return { n, ok: 1 };
  }

  private findAndModify(db: string, name: string, body: Document): Document {
    const filter = doc(body, 'query');
    const coll = this.storage.collection(db, name);
    const [ found ] = this.query(coll, filter, { sort: doc(body, 'sort'), limit: 1 });
    const fields = doc(body, 'fields');
    const project = (d: Document | null): Document | null => {
      if (!d || !Object.keys(fields).length) return d ? cloneDoc(d) : null;
      return guard(() => (mingoFind([ d ], {}, fields).all()[0] as Document) ?? null);
    };
    if (body.remove) {
      if (found) coll?.remove(found);
      return { lastErrorObject: { n: found ? 1 : 0 }, value: project(found ?? null), ok: 1 };
    }
    if (body.update === undefined) throw errors.failedToParse('Either an update or remove=true must be specified');
    const u = validateUpdate(body.update);
    const arrayFilters = Array.isArray(body.arrayFilters) ? body.arrayFilters as Document[] : undefined;
    if (!found) {
      if (!body.upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      const created = upsertDocument(filter, u, arrayFilters);
      this.storage.ensureCollection(db, name).coll.insert(created);
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: created._id },
        value: body.new ? project(created) : null,
        ok: 1,
      };
    }
    const next = applyUpdate(found, u, { filter, arrayFilters, isInsert: false });
    const before = cloneDoc(found);
    (coll as Collection).replace(next);
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: project(body.new ? next : before), ok: 1 };
  }

  private count(db: string, name: string, body: Document): Document {
    const docs = this.query(this.storage.collection(db, name), doc(body, 'query'), {
      skip: num(body, 'skip', 0),
      limit: Math.abs(num(body, 'limit', 0)),
    });
    return { n: docs.length, ok: 1 };
  }

  private distinct(db: string, name: string, body: Document): Document {
    const key = str(body, 'key');
    const docs = this.query(this.storage.collection(db, name), doc(body, 'query'), {});
    const values = guard(() => mingoAggregate(docs, [
      { $project: { v: `$${key}` } },
      { $unwind: { path: '$v', preserveNullAndEmptyArrays: false } },
      { $group: { _id: '$v' } },
      { $sort: { _id: 1 } },
    ]).map(d => d._id));
    return { values, ok: 1 };
  }

  private aggregate(ctx: CommandContext, body: Document): Document {
    const pipeline = docArray(body, 'pipeline');
    if (pipeline.some(stage => '$out' in stage || '$merge' in stage)) {
      throw errors.illegalOperation('$out and $merge are not supported by the sandbox');
    }
    const target = body.aggregate;
    const source = typeof target === 'string' ? this.storage.collection(ctx.db, target)?.all() ?? [] : [];
    const results = guard(() => mingoAggregate(source, pipeline, {
      collectionResolver: (other: string) => this.storage.collection(ctx.db, other)?.all() ?? [],
    }) as Document[]);
    const ns = typeof target === 'string' ? `${ctx.db}.${target}` : `${ctx.db}.$cmd.aggregate`;
    return this.openCursor(ns, results, ctx.connectionId, doc(body, 'cursor'));
  }
}

