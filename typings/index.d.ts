import 'egg';
import type { Saturation } from '../app/lib/http_server';
import type { MountedToken } from '../app/service/wxminiprogram/auth';

declare module 'egg' {
  interface Application {
    /** The mounted mini-program access_token (the seed's `app.wxToken`); undefined until one is fetched. */
    wxToken?: string;
    /** When the mounted token was fetched and when it expires. */
    wxTokenInfo?: MountedToken;
    /** This process's token refreshes are failing (logged once when they start, and when they recover). */
    tokenRefreshFailing?: boolean;
    /** Collects every worker's metrics through the agent (GET /metrics). */
    clusterMetrics: { collect(): Promise<string> };
    /** This worker's load (requests in flight and waiting for their body); unset until its server exists. */
    saturation?: () => Saturation;
  }

  interface Context {
    /** The authenticated user's id, set by the jwtAuth middleware (the seed's `ctx.uid`). */
    uid?: string;
    /** Read by egg's context logger: its traceId is printed in every log line of the request. */
    tracer?: { traceId: string };
    /** Read by egg's context logger: printed in every log line of the request. */
    userId?: string;
    /** The internal API caller's name (INTERNAL_API_KEYS), set by internalAuth. */
    internalCaller?: string;
  }
}
