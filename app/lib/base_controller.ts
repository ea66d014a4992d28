import { Controller } from 'egg';
import { UnauthorizedError } from './errors';

/** Object type with the null/undefined-valued keys made optional and non-null. */
export type WithoutEmpty<T> = { [K in keyof T]?: NonNullable<T[K]> };

/** Shared by the mini-program controllers. */
export default class BaseController extends Controller {
  /** The seed's `DUFN`: a copy without the fields whose value is undefined or null. */
  protected withoutEmpty<T extends object>(fields: T): WithoutEmpty<T> {
    return Object.fromEntries(Object.entries(fields).filter(([ , v ]) => v !== undefined && v !== null)) as WithoutEmpty<T>;
  }

  /** The user id the jwtAuth middleware read from the verified token. */
  protected get uid(): string {
    const { uid } = this.ctx;
    if (!uid) throw new UnauthorizedError();
    return uid;
  }
}
