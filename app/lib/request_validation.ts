import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { BadRequestError } from './errors';
import { openapiDocument, type OperationId } from './openapi';

type Schema = Record<string, unknown>;

interface Operation {
  operationId: OperationId;
  requestBody?: { content: Record<string, { schema: Schema }> };
}

/** One Ajv for the whole document, compiled once per operation on first use. */
// strictRequired off: anyOf branches name properties the parent schema declares.
// verbose: errors carry their schema node, whose x-rule words the constraint.
const ajv = new Ajv2020({ allErrors: false, verbose: true, strict: true, strictRequired: false });
// OpenAPI's annotations and our own: allowed in schemas, no effect on validation.
ajv.addKeyword({ keyword: 'x-rule', schemaType: 'string' });
ajv.addVocabulary([ 'example' ]);

/** The document's schemas as one JSON Schema: `#/components/schemas/X` becomes `#/$defs/X`. */
function asDefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([ k, v ]) => [
    k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', '#/$defs/') : asDefs(v),
  ]));
}
ajv.addSchema({ $id: 'openapi', $defs: asDefs(openapiDocument.components.schemas) } as Schema);

const operations = new Map<OperationId, Operation>();
for (const methods of Object.values(openapiDocument.paths) as Record<string, Operation>[]) {
  for (const op of Object.values(methods)) operations.set(op.operationId, op);
}

/** The schema node an error points at (its `x-rule` words the constraint). */
function ruleOf(error: ErrorObject): string | undefined {
  const rule = (error.parentSchema as Schema | undefined)?.['x-rule'];
  return typeof rule === 'string' ? rule : undefined;
}

function fieldOf(error: ErrorObject): string {
  return error.instancePath.replace(/^\//, '').replace(/\//g, '.');
}

/** An Ajv error in words naming the field and the rule, for the API's users. */
export function describeError(error: ErrorObject): string {
  const field = fieldOf(error);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': return `${field ? `${field}.` : ''}${String(params.missingProperty)} is required`;
    case 'dependentRequired': return `${String(params.property)} and ${String(params.missingProperty)} must be sent together`;
    case 'additionalProperties': {
      const fields = Object.keys(((error.parentSchema as Schema | undefined)?.properties ?? {}) as Schema);
      return `${field ? `${field}.` : ''}${String(params.additionalProperty)} is not a field of this request (its fields: ${fields.join(', ')})`;
    }
    case 'type': return field ? `${field} must be a ${String(params.type)}` : 'Request body must be a JSON object';
    case 'anyOf': case 'oneOf': return ruleOf(error) ? `${ruleOf(error)?.replace(/^./, c => c.toUpperCase())}` : 'The body matches none of the accepted forms';
    default: {
      const rule = ruleOf(error);
      return rule ? `${field || 'Request body'} must be ${rule}` : `${field || 'Request body'} ${error.message ?? 'is invalid'}`;
    }
  }
}

/**
 * The most useful of Ajv's errors: a field's own rule, then fields that must come together,
 * then a missing field, then the accepted forms as a whole (before what one form lacks).
 */
function primaryError(errors: ErrorObject[]): ErrorObject {
  const rank = (e: ErrorObject) => {
    if (e.instancePath) return 0;
    if (/\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath)) return 4;
    if (e.keyword === 'dependentRequired') return 1;
    return e.keyword === 'anyOf' || e.keyword === 'oneOf' ? 3 : 2;
  };
  return [ ...errors ].sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * A function checking a request body against the JSON schema its operation documents;
 * throws 400 INVALID_PARAM naming the field and the rule. Anything the schema admits is
 * safe to read as the operation's body type; a string field is never an object (no
 * `{ "$gt": "" }` reaches a query or WeChat).
 */
export function bodyValidator(operationId: OperationId): (body: unknown) => void {
  const op = operations.get(operationId);
  const schema = op?.requestBody?.content['application/json']?.schema;
  if (!schema) throw new Error(`operation ${operationId} documents no JSON request body`);
  const ref = String(schema.$ref).replace('#/components/schemas/', 'openapi#/$defs/');
  const validate: ValidateFunction = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  return body => {
    if (validate(body)) return;
    throw new BadRequestError(describeError(primaryError(validate.errors ?? [])));
  };
}
