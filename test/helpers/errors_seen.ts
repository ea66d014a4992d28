import { ANY_REQUEST, OPERATION_ERRORS, openapiDocument, type OperationId } from '../../app/lib/openapi';

interface Answered {
  routerName?: string;
  method: string;
  path: string;
  status: number;
  body: unknown;
}

/** The documented paths as patterns, for errors answered before the router ran (a body parser's 400). */
const PATHS = Object.entries(openapiDocument.paths as Record<string, Record<string, { operationId: OperationId }>>)
  .flatMap(([ p, ops ]) => Object.entries(ops).map(([ method, op ]) => ({
    method: method.toUpperCase(),
    pattern: new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`),
    operationId: op.operationId,
  })));

/** Which error codes each operation really answered during a test run, against what it documents. */
export class ErrorsSeen {
  private readonly seen = new Map<OperationId, Set<string>>();

  record(ctx: Answered): void {
    if (ctx.status < 400) return;
    const code = (ctx.body as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') return; // /health's 503 is a Health body
    const operationId = ctx.routerName && ctx.routerName in OPERATION_ERRORS
      ? ctx.routerName as OperationId
      : PATHS.find(p => p.method === ctx.method && p.pattern.test(ctx.path))?.operationId;
    if (!operationId) return; // no documented operation: /docs assets, unknown paths
    let codes = this.seen.get(operationId);
    if (!codes) this.seen.set(operationId, codes = new Set());
    codes.add(code);
  }

  /** `operation: CODE` for each code answered that the operation's list lacks. */
  undocumented(): string[] {
    return [ ...this.seen ].flatMap(([ op, codes ]) => [ ...codes ]
      .filter(c => !(OPERATION_ERRORS[op] as readonly string[]).includes(c) && !(ANY_REQUEST as readonly string[]).includes(c))
      .map(c => `${op}: ${c}`));
  }

  /** `operation: CODE` for each documented code no test made the operation answer. */
  unseen(): string[] {
    return (Object.entries(OPERATION_ERRORS) as [OperationId, readonly string[]][])
      .flatMap(([ op, codes ]) => codes.filter(c => !this.seen.get(op)?.has(c)).map(c => `${op}: ${c}`));
  }
}
