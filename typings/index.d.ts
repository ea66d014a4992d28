import 'egg';
import type { Saturation } from '../app/lib/http_server';
import type { MountedToken } from '../app/service/wxminiprogram/auth';

declare module 'egg' {
  interface Application {
    /** The mounted mini-program access_token (the seed's `app.wxToken`); undefined until one is fetched. */
    wxToken?: string;
    /** When the mounted token was fetched and when it expires. */
    wxTokenInfo?: MountedToken;
    /** The AppIDs whose token refreshes are failing in this process (logged once when they start, and when they recover). */
    tokenRefreshFailing: Set<string>;
    /** The mounted access_tokens of the apps after the first (the first's is `wxToken`). */
    wxTokens: Map<string, { token: string; info: MountedToken }>;
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
    /** The mini-program this request is for (login, the token's `appid`, the push path, `?appid=`); the first app when unset. */
    wxAppid?: string;
    /** The internal API caller's name (INTERNAL_API_KEYS), set by internalAuth. */
    internalCaller?: string;
  }
}
