import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { MiniProgram } from '../../../helpers/client';
import { wechat } from '../../../helpers/sandbox';

const KEY = 'metrics-scraper-key-0123456789abcdef';

function value(text: string, series: string): number {
  const line = text.split('\n').find(l => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('test/app/controller/internal/metrics.test.ts (GET /metrics)', () => {
  beforeEach(() => mm(app.config.internal, 'keys', [{ name: 'prometheus', key: KEY }]));
  after(() => app.mockContext().models.Account.User.deleteMany({}));

  const scrape = async () => (await app.httpRequest().get('/metrics').set('authorization', `Bearer ${KEY}`)
    .expect(200)).text;

  it('Prometheus text: HTTP by route pattern, WeChat calls by endpoint and outcome, the token, Node\'s process metrics per worker', async () => {
    await app.runSchedule('token_refresh'); // a token mounted (an earlier file may have reset them)
    const before = await scrape();
    for (let i = 0; i < 3; i++) await app.httpRequest().get('/health').expect(200);
    await new MiniProgram(app).login();
    await app.httpRequest().post('/api/v1/mp/account/user/auth').send({ jscode: 'never-issued' })
      .expect(400);
    await app.httpRequest().get('/api/v1/mp/account/avatar/0123456789abcdef01234567').expect(404);
    const after = await scrape();
    const series = 'http_requests_total{method="GET",route="/health",status="200"}';
    assert.equal(value(after, series) - value(before, series), 3);
    assert.ok(after.includes('route="/api/v1/mp/account/avatar/:id"'), 'the route pattern, never the id');
    assert.ok(!after.includes('0123456789abcdef01234567'));
    assert.match(after, /http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/health"\}/);
    const { appid } = app.config.wxmp;
    const ok = `wechat_api_requests_total{appid="${appid}",endpoint="/sns/jscode2session",outcome="ok",errcode="0"}`;
    const bad = `wechat_api_requests_total{appid="${appid}",endpoint="/sns/jscode2session",outcome="errcode",errcode="40029"}`;
    assert.equal(value(after, ok) - value(before, ok), 1);
    assert.equal(value(after, bad) - value(before, bad), 1);
    assert.match(after, new RegExp(`wechat_api_request_duration_seconds_count\\{appid="${appid}",endpoint="/sns/jscode2session"\\} \\d+`));
    assert.match(after, /# TYPE wxmp_access_token_refreshes_total counter/);
    assert.ok(value(after, `wxmp_access_token_expires_in_seconds{appid="${appid}"}`) > 60);
    assert.match(after, new RegExp(`process_cpu_user_seconds_total\\{worker="${process.pid}"\\}`));
    assert.ok(!after.includes(app.wxToken as string), 'never the token');
  });

  it('passes promtool check metrics\' rules: counters end in _total and nothing else does, every metric has HELP, names are snake_case, no _count/_sum/_bucket outside histograms', async () => {
    await app.httpRequest().get('/health');
    const { text } = await app.httpRequest().get('/metrics').set('authorization', `Bearer ${KEY}`)
      .expect(200);
    const types = new Map<string, string>();
    const helps = new Set<string>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) types.set(type[1], type[2]);
      const help = /^# HELP (\S+) \S/.exec(line);
      if (help) helps.add(help[1]);
    }
    assert.ok(types.size > 20, `${types.size} metrics`);
    const problems: string[] = [];
    for (const [ name, type ] of types) {
      if (!/^[a-z_:][a-z0-9_:]*$/.test(name)) problems.push(`${name}: not snake_case`);
      if (!helps.has(name)) problems.push(`${name}: no HELP`);
      if (type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: counter without _total`);
      if (type !== 'counter' && name.endsWith('_total')) problems.push(`${name}: ${type} named like a counter`);
      if (type !== 'histogram' && type !== 'summary' && /_(count|sum|bucket)$/.test(name)) problems.push(`${name}: ${type} with a histogram suffix`);
    }
    assert.deepEqual(problems, []);
    assert.ok(types.get('nodejs_active_handles') === 'gauge', 'the same numbers under gauge names');
  });

  it('counts token refreshes by outcome', async () => {
    const before = await scrape();
    await app.mockContext().models.Auth.deleteMany({});
    app.wxToken = undefined;
    await app.runSchedule('token_refresh');
    const after = await scrape();
    const series = `wxmp_access_token_refreshes_total{appid="${app.config.wxmp.appid}",outcome="success"}`;
    assert.equal(value(after, series) - value(before, series), 1);
    assert.ok(wechat().isValidToken(String(app.wxToken)));
  });

  it('401 without the key, 404 when no key is configured', async () => {
    await app.httpRequest().get('/metrics').expect(401);
    mm(app.config.internal, 'keys', []);
    await app.httpRequest().get('/metrics').set('authorization', `Bearer ${KEY}`)
      .expect(404);
  });
});
