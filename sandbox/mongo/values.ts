/** Value helpers shared by storage and commands: copies, canonical keys, paths, mongod-style printing. */
import { deserialize, serialize, EJSON, ObjectId, type Document } from 'bson';

const BSON_OPTIONS = { promoteLongs: true, promoteValues: true } as const;

/** A deep copy through BSON, so stored documents never share objects with callers. */
export function cloneDoc<T extends Document>(doc: T): T {
  return deserialize(serialize(doc), BSON_OPTIONS) as T;
}

export function isPlainObject(value: unknown): value is Document {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for `{ $op: ... }` objects (query/update operator expressions). */
export function isOperatorObject(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const first = Object.keys(value)[0];
  return first !== undefined && first.startsWith('$');
}

/**
 * A string that is equal for values mongod considers equal in an index key
 * (numbers of any width compare by value; documents compare field by field, in order).
 */
export function keyOf(value: unknown): string {
  switch (typeof value) {
    case 'string': return `s:${value}`;
    case 'number': return `n:${value}`;
    case 'boolean': return `b:${value}`;
    case 'undefined': return 'null';
    default:
      if (value === null) return 'null';
      if (value instanceof ObjectId) return `o:${value.toHexString()}`;
      if (value instanceof Date) return `d:${value.getTime()}`;
      return `j:${EJSON.stringify(value as Document, { relaxed: false })}`;
  }
}

/** Value at a dotted path; `undefined` when any step is missing. */
export function getPath(doc: Document, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Document)[part];
  }
  return cur;
}

/** Sets a dotted path, creating plain objects on the way. */
export function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Document = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(cur[part])) cur[part] = {};
    cur = cur[part] as Document;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Prints a value the way mongod's error messages do (`{ openId: "x" }`, `ObjectId('…')`). */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (Array.isArray(value)) return `[ ${value.map(formatValue).join(', ')} ]`;
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([ k, v ]) => `${k}: ${formatValue(v)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return EJSON.stringify(value as Document);
}

/** Returns the document with `_id` as its first field (mongod stores it that way). */
export function idFirst(doc: Document): Document {
  if (Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

export function bsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'double';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof Date) return 'date';
  if (value instanceof ObjectId) return 'objectId';
  if (isPlainObject(value)) return 'object';
  return typeof value;
}
