import type { Document } from 'bson';

/** A command failure, replied as `{ ok: 0, errmsg, code, codeName, ...extra }` like mongod. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly extra: Document = {},
  ) {
    super(message);
  }

  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }

  /** The fields a `writeErrors` entry carries for this error. */
  toWriteError(index: number): Document {
    return { index, code: this.code, codeName: this.codeName, errmsg: this.message, ...this.extra };
  }
}

export const errors = {
  badValue: (msg: string) => new CommandError(2, 'BadValue', msg),
  failedToParse: (msg: string) => new CommandError(9, 'FailedToParse', msg),
  typeMismatch: (msg: string) => new CommandError(14, 'TypeMismatch', msg),
  illegalOperation: (msg: string) => new CommandError(20, 'IllegalOperation', msg),
  namespaceNotFound: (msg: string) => new CommandError(26, 'NamespaceNotFound', msg),
  indexNotFound: (msg: string) => new CommandError(27, 'IndexNotFound', msg),
  cursorNotFound: (id: string) => new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`),
  namespaceExists: (msg: string) => new CommandError(48, 'NamespaceExists', msg),
  commandNotFound: (name: string) => new CommandError(59, 'CommandNotFound', `no such command: '${name}'`),
  immutableField: (msg: string) => new CommandError(66, 'ImmutableField', msg),
  invalidOptions: (msg: string) => new CommandError(72, 'InvalidOptions', msg),
  indexOptionsConflict: (msg: string) => new CommandError(85, 'IndexOptionsConflict', msg),
  indexKeySpecsConflict: (msg: string) => new CommandError(86, 'IndexKeySpecsConflict', msg),
  invalidNamespace: (msg: string) => new CommandError(73, 'InvalidNamespace', msg),
};
