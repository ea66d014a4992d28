/**
 * Update semantics on top of mingo's update operators, with the gaps mingo leaves bridged
 * the way mongod behaves: `$setOnInsert`, upsert seeding from the filter, the immutable
 * `_id`, and the type errors mongod raises for `$inc` on a string or `$push` on a scalar.
 */
import { ObjectId, type Document } from 'bson';
import { aggregate, update as mingoUpdate } from 'mingo';
import type { Modifier } from 'mingo/updater';
import { CommandError, errors } from './errors';
import { bsonTypeName, cloneDoc, formatValue, getPath, idFirst, isOperatorObject, isPlainObject, keyOf, setPath } from './values';

const UPDATE_OPERATORS = new Set([
  '$set', '$unset', '$inc', '$mul', '$rename', '$setOnInsert', '$min', '$max',
  '$currentDate', '$push', '$addToSet', '$pop', '$pull', '$pullAll', '$bit',
]);

export type UpdateSpec = Document | Document[];

export interface UpdateContext {
  filter: Document;
  arrayFilters?: Document[];
  /** The document is being created by an upsert: `$setOnInsert` applies. */
  isInsert: boolean;
}

function isReplacement(u: UpdateSpec): boolean {
  return !Array.isArray(u) && Object.keys(u).every(k => !k.startsWith('$'));
}

/** Validates the shape of an update before any document is touched. */
export function validateUpdate(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    if (!u.every(isPlainObject)) throw errors.failedToParse('Each element of the update pipeline must be an object');
    return u as Document[];
  }
  if (!isPlainObject(u)) throw errors.failedToParse('Update argument must be either an object or an array');
  if (isReplacement(u)) return u;
  for (const [ op, arg ] of Object.entries(u)) {
    if (!UPDATE_OPERATORS.has(op)) {
      throw errors.failedToParse(`Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isPlainObject(arg)) {
      throw errors.failedToParse(`Modifiers operate on fields but we found type ${bsonTypeName(arg)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${formatValue(arg)}}`);
    }
  }
  return u;
}

function immutableId(): CommandError {
  return errors.immutableField("Performing an update on the path '_id' would modify the immutable field '_id'");
}

function checkOperandTypes(doc: Document, mod: Document): void {
  for (const op of [ '$inc', '$mul' ] as const) {
    for (const [ field, arg ] of Object.entries((mod[op] ?? {}) as Document)) {
      if (typeof arg !== 'number') {
        throw errors.typeMismatch(`Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${field}: ${formatValue(arg)}}`);
      }
      if (field.includes('$')) continue;
      const current = getPath(doc, field);
      if (current !== undefined && current !== null && typeof current !== 'number') {
        throw errors.typeMismatch(`Cannot apply ${op} to a value of non-numeric type. {_id: ${formatValue(doc._id)}} has the field '${field}' of non-numeric type ${bsonTypeName(current)}`);
      }
    }
  }
  for (const op of [ '$push', '$addToSet', '$pull', '$pullAll', '$pop' ] as const) {
    for (const field of Object.keys((mod[op] ?? {}) as Document)) {
      if (field.includes('$')) continue;
      const current = getPath(doc, field);
      if (current !== undefined && !Array.isArray(current)) {
        throw errors.badValue(`The field '${field}' must be an array but is of type ${bsonTypeName(current)} in document {_id: ${formatValue(doc._id)}}`);
      }
    }
  }
}

/**
 * Returns the updated copy of `doc` (never mutates it). Throws CommandError for what
 * mongod refuses.
 */
export function applyUpdate(doc: Document, u: UpdateSpec, ctx: UpdateContext): Document {
  const id = doc._id;
  let next: Document;
  if (Array.isArray(u)) {
    next = aggregate([ cloneDoc(doc) ], u)[0] ?? {};
  } else if (isReplacement(u)) {
    if (u._id !== undefined && id !== undefined && keyOf(u._id) !== keyOf(id)) throw immutableId();
    next = { ...cloneDoc(u), _id: id ?? u._id };
  } else {
    const mod: Document = {};
    for (const [ op, arg ] of Object.entries(u)) {
      if (op === '$setOnInsert') continue;
      mod[op] = { ...(arg as Document) };
    }
    if (ctx.isInsert && u.$setOnInsert) mod.$set = { ...(mod.$set as Document ?? {}), ...(u.$setOnInsert as Document) };
    const set = mod.$set as Document | undefined;
    if (set && '_id' in set) {
      if (id !== undefined && keyOf(set._id) !== keyOf(id)) throw immutableId();
      if (id !== undefined) delete set._id;
    }
    next = cloneDoc(doc);
    checkOperandTypes(next, mod);
    try {
      mingoUpdate(next, mod as Modifier<Document>, ctx.arrayFilters, ctx.filter, { cloneMode: 'deep' });
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw errors.badValue((err as Error).message);
    }
  }
  if (id !== undefined && keyOf(next._id) !== keyOf(id)) throw immutableId();
  if (next._id === undefined) next._id = id ?? new ObjectId();
  return idFirst(next);
}

/** The document an upsert starts from: the filter's equality fields (dotted paths included). */
export function seedFromFilter(filter: Document): Document {
  const seed: Document = {};
  const visit = (f: Document): void => {
    for (const [ key, value ] of Object.entries(f)) {
      if (key === '$and' && Array.isArray(value)) {
        value.filter(isPlainObject).forEach(visit);
        continue;
      }
      if (key.startsWith('$') || value instanceof RegExp) continue;
      if (isOperatorObject(value)) {
        const ops = Object.keys(value as Document);
        if (ops.length === 1 && ops[0] === '$eq') setPath(seed, key, (value as Document).$eq);
        continue;
      }
      setPath(seed, key, value);
    }
  };
  visit(filter);
  return cloneDoc(seed);
}

/** Builds the document an upsert inserts. */
export function upsertDocument(filter: Document, u: UpdateSpec, arrayFilters?: Document[]): Document {
  if (!Array.isArray(u) && isReplacement(u)) {
    const seededId = seedFromFilter(filter)._id;
    const doc = cloneDoc(u);
    if (doc._id === undefined) doc._id = seededId ?? new ObjectId();
    return idFirst(doc);
  }
  return applyUpdate(seedFromFilter(filter), u, { filter: {}, arrayFilters, isInsert: true });
}
