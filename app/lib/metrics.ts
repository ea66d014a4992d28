import client from 'prom-client';

/**
 * Every metric of the app, in one place (one registry per process; `/metrics` merges the
 * workers' through the agent: app/lib/metrics_cluster.ts).
 */
export const registry = new client.Registry();

// Node's process metrics, one series per worker (the `worker` label keeps them apart when merged).
client.collectDefaultMetrics({ register: registry, labels: { worker: String(process.pid) } });
// prom-client also exports these three gauges under names ending in _total, which promtool's
// lint (and Prometheus' naming rules) keep for counters: the same numbers stay exported as
// nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
for (const name of [ 'nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total' ]) registry.removeSingleMetric(name);

export const httpRequests = new client.Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status',
  labelNames: [ 'method', 'route', 'status' ] as const,
  registers: [ registry ],
});

export const httpDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by method and route pattern',
  labelNames: [ 'method', 'route' ] as const,
  buckets: [ 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 ],
  registers: [ registry ],
});

export const wechatRequests = new client.Counter({
  name: 'wechat_api_requests_total',
  help: 'Calls to the WeChat API, by mini-program, endpoint path, outcome (ok, errcode, timeout, network, bad_response) and errcode',
  labelNames: [ 'appid', 'endpoint', 'outcome', 'errcode' ] as const,
  registers: [ registry ],
});

export const wechatDuration = new client.Histogram({
  name: 'wechat_api_request_duration_seconds',
  help: 'Duration of calls to the WeChat API, by mini-program and endpoint path',
  labelNames: [ 'appid', 'endpoint' ] as const,
  buckets: [ 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10 ],
  registers: [ registry ],
});

export const tokenRefreshes = new client.Counter({
  name: 'wxmp_access_token_refreshes_total',
  help: 'access_token fetches from WeChat by this process, by mini-program and outcome (success, failure)',
  labelNames: [ 'appid', 'outcome' ] as const,
  registers: [ registry ],
});

export const forcedRefreshes = new client.Counter({
  name: 'wxmp_access_token_forced_refreshes_total',
  help: 'Reports of the current access_token as rejected (POST /internal/wx/access_token/refresh), by outcome: refreshed, or limited (answered as it is: the token was too young or another forced refresh was too recent), by mini-program',
  labelNames: [ 'appid', 'outcome' ] as const,
  registers: [ registry ],
});

export const tokenReads = new client.Counter({
  name: 'wxmp_access_token_reads_total',
  help: 'access_tokens handed to the team\'s other backends, by mini-program and route (internal: the internal API; token, stable_token: the WeChat-shaped routes for SDKs)',
  labelNames: [ 'appid', 'via' ] as const,
  registers: [ registry ],
});

/** Set by the app: when each app's mounted token expires (undefined: none mounted). */
let expiresAtOf: () => { appid: string; expiresAt?: number }[] = () => [];
export function reportTokenExpiry(source: () => { appid: string; expiresAt?: number }[]): void {
  expiresAtOf = source;
}

export const tokenExpiresIn = new client.Gauge({
  name: 'wxmp_access_token_expires_in_seconds',
  help: 'Seconds until the mounted access_token expires, by mini-program (the smallest across workers)',
  labelNames: [ 'appid' ] as const,
  registers: [ registry ],
  aggregator: 'min',
  collect() {
    for (const { appid, expiresAt } of expiresAtOf()) {
      this.set({ appid }, expiresAt === undefined ? 0 : Math.max(0, Math.floor((expiresAt - Date.now()) / 1000)));
    }
  },
});
