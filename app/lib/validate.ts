import { BadRequestError } from './errors';

export type JsonBody = Record<string, unknown>;

export interface StringRule {
  /** Human description used in the error message. */
  what: string;
  pattern: RegExp;
}

/** wx.login / getPhoneNumber codes: short opaque tokens. */
export const CODE: StringRule = { what: '1-128 letters, digits, _ or -', pattern: /^[A-Za-z0-9_-]{1,128}$/ };
/** encryptedData: base64, at most 32 KiB (a month of WeRun steps is a few KiB). */
export const ENCRYPTED_DATA: StringRule = { what: 'base64 of at most 32768 characters', pattern: /^(?=.{4,32768}$)(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ };
/** iv: base64 of exactly 16 bytes. */
export const IV: StringRule = { what: 'base64 of 16 bytes (24 characters)', pattern: /^[A-Za-z0-9+/]{22}==$/ };

/** The request body must be a JSON object (not an array, string or nothing). */
export function requireObject(body: unknown): JsonBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('Request body must be a JSON object');
  }
  return body as JsonBody;
}

/**
 * A string field matching its rule; undefined when absent (or null) and optional.
 * Anything else (an object like {"$gt": ""}, a number, an array) is a 400, never a query.
 */
export function stringField(body: JsonBody, field: string, rule: StringRule, required: true): string;
export function stringField(body: JsonBody, field: string, rule: StringRule, required?: false): string | undefined;
export function stringField(body: JsonBody, field: string, rule: StringRule, required = false): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) throw new BadRequestError(`${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string' || !rule.pattern.test(value)) {
    throw new BadRequestError(`${field} must be a string: ${rule.what}`);
  }
  return value;
}

/** `encryptedData` and `iv` come together or not at all. */
export function encryptedPair(body: JsonBody, required: boolean): { encryptedData?: string; iv?: string } {
  const encryptedData = stringField(body, 'encryptedData', ENCRYPTED_DATA);
  const iv = stringField(body, 'iv', IV);
  if ((encryptedData === undefined) !== (iv === undefined)) throw new BadRequestError('encryptedData and iv must be sent together');
  if (required && encryptedData === undefined) throw new BadRequestError('encryptedData and iv are required');
  return { encryptedData, iv };
}
