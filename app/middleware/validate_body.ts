import type { Context } from 'egg';
import { JsonRequiredError } from '../lib/errors';
import type { OperationId } from '../lib/openapi';
import { bodyValidator } from '../lib/request_validation';

export interface ValidateBodyOptions {
  /** The route's operationId in the OpenAPI document (its route name). */
  operationId: OperationId;
}

/**
 * Route middleware for JSON routes: a body sent as anything but JSON is 415 (not a
 * confusing "jscode is required"), and the JSON body must match the schema the OpenAPI
 * document gives for the operation (400 INVALID_PARAM naming the field and rule).
 */
export default (options: ValidateBodyOptions) => {
  const validate = bodyValidator(options.operationId);
  return async function validateBody(ctx: Context, next: () => Promise<void>): Promise<void> {
    const hasBody = ctx.request.length > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && !ctx.is('json')) {
      throw new JsonRequiredError();
    }
    validate(ctx.request.body);
    await next();
  };
};
