import http from 'node:http';

/** One request's fate. */
export interface LoadOutcome {
  at: number;
  route: 'login' | 'info' | 'bindPhone' | 'refresh';
  status: number;
  code?: string;
  /** A connection error instead of an HTTP answer. */
  transport?: string;
  ms: number;
}

/**
 * The mixed load of a mini-program's users (logins, info, bindPhone, refreshToken), each
 * virtual user on keep-alive connections of its own, played against `base` with the WeChat
 * double at `wechat`. Records every outcome and every write acknowledged to the client.
 */
export class MixedLoad {
  readonly outcomes: LoadOutcome[] = [];
  /** openid -> uid of every login answered 200 */
  readonly ackedUsers = new Map<string, string>();
  /** openid -> the phone of the last bind answered 200 (null: a later bind was not acknowledged) */
  readonly ackedPhones = new Map<string, string | null>();
  private running = false;
  private loops: Promise<void>[] = [];
  private phoneSeq = 0;
  private readonly agent: http.Agent;

  constructor(private readonly opts: { base: string; wechat: string; appid: string; users: number; prefix: string; localAddress?: string; pauseMs?: number }) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: opts.users * 2, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.opts.users }, (_, i) => this.user(`${this.opts.prefix}${i}`));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  /** A request through the load's own agent (its keep-alive connections, its local address). */
  request(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = new URL(path, this.opts.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(url, {
        method, agent: this.agent, timeout: 20_000,
        headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }, res => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c as Buffer));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  private async call(route: LoadOutcome['route'], method: 'GET' | 'POST', path: string, body?: unknown, token?: string) {
    const started = Date.now();
    const outcome: LoadOutcome = { at: started, route, status: 0, ms: 0 };
    try {
      const res = await this.request(method, path, body, token);
      outcome.status = res.status;
      if (res.status !== 200) outcome.code = String(res.body.code ?? res.body.text ?? '');
      return res;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      outcome.transport = e.code ?? e.message;
      return undefined;
    } finally {
      outcome.ms = Date.now() - started;
      this.outcomes.push(outcome);
    }
  }

  private async double(path: string, body: unknown): Promise<string | undefined> {
    try {
      const res = await fetch(`${this.opts.wechat}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return String(((await res.json()) as { code?: string }).code);
    } catch {
      return undefined;
    }
  }

  private async user(openid: string): Promise<void> {
    let token: string | undefined;
    const { appid } = this.opts;
    while (this.running) {
      const code = await this.double('/sandbox/login', { appid, openid });
      if (!code) continue;
      const login = await this.call('login', 'POST', '/api/v1/mp/account/user/auth', { jscode: code, appid });
      if (login?.status === 200) {
        token = String(login.body.token);
        this.ackedUsers.set(openid, String((login.body.userInfo as Record<string, unknown>).uid));
      }
      if (token) {
        await this.call('info', 'GET', '/api/v1/mp/account/user/info', undefined, token);
        const phone = `15${String(process.pid % 100).padStart(2, '0')}${String(++this.phoneSeq).padStart(7, '0')}`;
        const phoneCode = await this.double('/sandbox/phone-code', { appid, phoneNumber: phone });
        if (phoneCode) {
          const bind = await this.call('bindPhone', 'POST', '/api/v1/mp/account/user/bindPhone', { code: phoneCode }, token);
          this.ackedPhones.set(openid, bind?.status === 200 ? phone : null);
        }
        const refreshed = await this.call('refresh', 'GET', '/api/v1/mp/account/refreshToken', undefined, token);
        if (refreshed?.status === 200) token = String(refreshed.body.token);
      }
      await new Promise(r => setTimeout(r, this.opts.pauseMs ?? 20));
    }
  }

  /** Outcomes that are failures: 5xx, no answer. */
  failures(): LoadOutcome[] {
    return this.outcomes.filter(o => o.status >= 500 || o.status === 0);
  }
}

export function p99(values: number[]): number {
  const sorted = [ ...values ].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}
