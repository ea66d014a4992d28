/**
 * In-memory collections with mongod's index rules (unique, sparse, partial, TTL) and an
 * optional snapshot on disk: written to a temp file, fsynced, then renamed over the old
 * one, so a crash leaves either the previous or the new snapshot, never a torn one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { deserialize, serialize, ObjectId, type Document } from 'bson';
import { Query } from 'mingo';
import { CommandError } from './errors';
import { formatValue, getPath, keyOf } from './values';

export interface IndexSpec {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Document;
}

export class Index {
  readonly fields: string[];
  /** unique indexes only: index key -> document key */
  readonly entries = new Map<string, string>();
  /** Set once any indexed value was an array; equality fast paths are then unsafe. */
  hasArrayValues = false;
  private readonly partial?: Query;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    if (spec.partialFilterExpression) this.partial = new Query(spec.partialFilterExpression);
  }

  get isUnique(): boolean {
    return this.spec.unique === true || this.spec.name === '_id_';
  }

  /** The index key of a document, or null when the document is not in the index. */
  keyFor(doc: Document): { key: string; keyValue: Document } | null {
    if (this.partial && !this.partial.test(doc)) return null;
    const values = this.fields.map(f => getPath(doc, f));
    if (this.spec.sparse && values.every(v => v === undefined)) return null;
    if (values.some(v => Array.isArray(v))) this.hasArrayValues = true;
    const keyValue: Document = {};
    this.fields.forEach((f, i) => { keyValue[f] = values[i] === undefined ? null : values[i]; });
    return { key: values.map(keyOf).join('\u0000'), keyValue };
  }
}

export class Collection {
  readonly docs = new Map<string, Document>();
  readonly indexes = new Map<string, Index>();

  constructor(readonly db: string, readonly name: string, private readonly onChange: () => void) {
    this.indexes.set('_id_', new Index({ v: 2, key: { _id: 1 }, name: '_id_' }));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  all(): Document[] {
    return [ ...this.docs.values() ];
  }

  getById(id: unknown): Document | undefined {
    return this.docs.get(keyOf(id));
  }

  /**
   * Documents that can possibly match an equality on `_id` or on a single-field unique
   * index, or undefined when the whole collection must be scanned. Callers still test.
   */
  candidatesFor(filter: Document): Document[] | undefined {
    for (const [ field, value ] of Object.entries(filter)) {
      if (field.startsWith('$') || value === null || value === undefined) continue;
      if (typeof value === 'object' && !(value instanceof Date) && !(value instanceof ObjectId)) continue;
      if (field === '_id') {
        const doc = this.docs.get(keyOf(value));
        return doc ? [ doc ] : [];
      }
      for (const index of this.indexes.values()) {
        if (!index.isUnique || index.fields.length !== 1 || index.fields[0] !== field) continue;
        if (index.hasArrayValues || index.spec.partialFilterExpression || index.spec.sparse) continue;
        const docKey = index.entries.get(keyOf(value));
        const doc = docKey === undefined ? undefined : this.docs.get(docKey);
        return doc ? [ doc ] : [];
      }
    }
    return undefined;
  }

  private duplicateKeyError(index: Index, keyValue: Document): CommandError {
    return new CommandError(
      11000,
      'DuplicateKey',
      `E11000 duplicate key error collection: ${this.ns} index: ${index.spec.name} dup key: ${formatValue(keyValue)}`,
      { keyPattern: index.spec.key, keyValue },
    );
  }

  /** Throws E11000 when `doc` would collide in a unique index with a document other than `selfKey`. */
  checkUnique(doc: Document, selfKey?: string): void {
    for (const index of this.indexes.values()) {
      if (!index.isUnique) continue;
      const k = index.keyFor(doc);
      if (!k) continue;
      const owner = index.entries.get(k.key);
      if (owner !== undefined && owner !== selfKey) throw this.duplicateKeyError(index, k.keyValue);
    }
  }

  private indexDoc(docKey: string, doc: Document): void {
    for (const index of this.indexes.values()) {
      if (!index.isUnique) continue;
      const k = index.keyFor(doc);
      if (k) index.entries.set(k.key, docKey);
    }
  }

  private unindexDoc(docKey: string, doc: Document): void {
    for (const index of this.indexes.values()) {
      if (!index.isUnique) continue;
      const k = index.keyFor(doc);
      if (k && index.entries.get(k.key) === docKey) index.entries.delete(k.key);
    }
  }

  /** Inserts a document the caller no longer holds (already copied). */
  insert(doc: Document): void {
    this.checkUnique(doc);
    const docKey = keyOf(doc._id);
    this.docs.set(docKey, doc);
    this.indexDoc(docKey, doc);
    this.onChange();
  }

  /** Replaces the stored document with `_id` equal to next._id. */
  replace(next: Document): void {
    const docKey = keyOf(next._id);
    const prev = this.docs.get(docKey);
    if (!prev) throw new Error('replace of a missing document');
    this.checkUnique(next, docKey);
    this.unindexDoc(docKey, prev);
    this.docs.set(docKey, next);
    this.indexDoc(docKey, next);
    this.onChange();
  }

  remove(doc: Document): void {
    const docKey = keyOf(doc._id);
    const stored = this.docs.get(docKey);
    if (!stored) return;
    this.unindexDoc(docKey, stored);
    this.docs.delete(docKey);
    this.onChange();
  }

  /** Adds an index; a unique index over existing duplicates fails with E11000 and is not added. */
  addIndex(spec: IndexSpec): void {
    const index = new Index(spec);
    if (index.isUnique) {
      for (const [ docKey, doc ] of this.docs) {
        const k = index.keyFor(doc);
        if (!k) continue;
        if (index.entries.has(k.key)) throw this.duplicateKeyError(index, k.keyValue);
        index.entries.set(k.key, docKey);
      }
    }
    this.indexes.set(spec.name, index);
    this.onChange();
  }

  dropIndex(name: string): void {
    this.indexes.delete(name);
    this.onChange();
  }

  /** Deletes documents whose TTL field is a date older than its index's expireAfterSeconds. */
  expire(now: number): number {
    let removed = 0;
    for (const index of [ ...this.indexes.values() ]) {
      const ttl = index.spec.expireAfterSeconds;
      if (typeof ttl !== 'number' || index.fields.length !== 1) continue;
      for (const doc of this.all()) {
        const value = getPath(doc, index.fields[0]);
        const dates = (Array.isArray(value) ? value : [ value ]).filter((v): v is Date => v instanceof Date);
        if (!dates.length) continue;
        const earliest = Math.min(...dates.map(d => d.getTime()));
        if (earliest + ttl * 1000 <= now) {
          this.remove(doc);
          removed++;
        }
      }
    }
    return removed;
  }
}

const SNAPSHOT_FILE = 'sandbox-store.bson';

export class Storage {
  readonly dbs = new Map<string, Map<string, Collection>>();
  private dirty = false;

  constructor(readonly dbpath?: string) {
    if (dbpath) {
      fs.mkdirSync(dbpath, { recursive: true });
      this.load();
    }
  }

  private readonly markDirty = (): void => {
    this.dirty = true;
  };

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** Returns the collection, creating it (and its database) when missing. */
  ensureCollection(db: string, name: string): { coll: Collection; created: boolean } {
    let colls = this.dbs.get(db);
    if (!colls) {
      colls = new Map();
      this.dbs.set(db, colls);
    }
    let coll = colls.get(name);
    if (coll) return { coll, created: false };
    coll = new Collection(db, name, this.markDirty);
    colls.set(name, coll);
    this.markDirty();
    return { coll, created: true };
  }

  dropCollection(db: string, name: string): Collection | undefined {
    const colls = this.dbs.get(db);
    const coll = colls?.get(name);
    if (!colls || !coll) return undefined;
    colls.delete(name);
    if (!colls.size) this.dbs.delete(db);
    this.markDirty();
    return coll;
  }

  dropDatabase(db: string): void {
    if (this.dbs.delete(db)) this.markDirty();
  }

  /** Runs the TTL pass over every collection. */
  expire(now = Date.now()): number {
    let removed = 0;
    for (const colls of this.dbs.values()) {
      for (const coll of colls.values()) removed += coll.expire(now);
    }
    return removed;
  }

  /** Writes a snapshot when anything changed since the last one. */
  flush(): void {
    if (!this.dbpath || !this.dirty) return;
    this.dirty = false;
    const parts: Buffer[] = [];
    for (const [ db, colls ] of this.dbs) {
      for (const coll of colls.values()) {
        parts.push(Buffer.from(serialize({ t: 'c', db, name: coll.name, indexes: [ ...coll.indexes.values() ].map(i => i.spec) })));
        for (const doc of coll.docs.values()) parts.push(Buffer.from(serialize({ t: 'd', d: doc })));
      }
    }
    const file = path.join(this.dbpath, SNAPSHOT_FILE);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const part of parts) fs.writeSync(fd, part);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    const dirFd = fs.openSync(this.dbpath, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }

  private load(): void {
    const file = path.join(this.dbpath as string, SNAPSHOT_FILE);
    if (!fs.existsSync(file)) return;
    const buf = fs.readFileSync(file);
    let offset = 0;
    let current: Collection | undefined;
    while (offset < buf.length) {
      const size = buf.readInt32LE(offset);
      const record = deserialize(buf.subarray(offset, offset + size), { promoteLongs: true, promoteValues: true });
      offset += size;
      if (record.t === 'c') {
        current = this.ensureCollection(record.db as string, record.name as string).coll;
        for (const spec of record.indexes as IndexSpec[]) {
          if (spec.name !== '_id_') current.addIndex(spec);
        }
      } else if (record.t === 'd' && current) {
        current.insert(record.d as Document);
      }
    }
    this.dirty = false;
  }
}
