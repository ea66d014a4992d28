import assert from 'node:assert/strict';
import configDefault from '../../config/config.default';
import configLocal from '../../config/config.local';
import fs from 'node:fs';
import path from 'node:path';
import { isolateEnv } from '../helpers/env';

/**
 * The production defaults of the settings that guard something, read from config.default with
 * no environment: the unit config replaces several of them (the push section, the rate limits),
 * so a test through the test app alone would not notice a default weakened here.
 */
const ENV = [ 'KEEP_ALIVE_TIMEOUT', 'SESSION_MAX_AGE', 'AUDIT_RETENTION_DAYS', 'OVERLOAD_MAX_IN_FLIGHT', 'MAX_CONNECTIONS_PER_ADDRESS', 'RATE_LIMIT_LOGIN_PER_MINUTE', 'RATE_LIMIT_USER_PER_MINUTE', 'TRUST_PROXY', 'AVATAR_MAX_BYTES', 'JWT_EXPIRES_IN', 'WXMP_DECRYPT_MAX_AGE' ] as const;

describe('test/config/defaults.test.ts (security-relevant production defaults)', () => {
  isolateEnv(ENV);
  const defaults = () => configDefault({ name: 'wxmp-egg-backend', baseDir: process.cwd(), env: 'prod', root: '/tmp', HOME: '/tmp', pkg: {} } as unknown as Parameters<typeof configDefault>[0]);

  it('the push accepts timestamps within 5 minutes; its XML bodies are capped at 16 KiB, JSON bodies at 64 KiB', () => {
    const config = defaults();
    assert.equal(config.wxmp.push.maxSkewSeconds, 300);
    assert.equal(config.bodyParser?.textLimit, '16kb');
    assert.equal(config.bodyParser?.jsonLimit, '64kb');
  });

  it('rate limits: 60 logins per address and 30 writes per user a minute', () => {
    assert.deepEqual(defaults().rateLimit, { loginPerMinute: 60, userPerMinute: 30 });
  });

  it('load shedding: 64 in flight, 256 bodies arriving, 10 s (uploads 30 s) for a body, 256 connections per address; none per address behind a proxy', () => {
    assert.deepEqual(defaults().overload, { maxInFlight: 64, maxBodyPending: 256, bodyTimeoutMs: 10_000, uploadBodyTimeoutMs: 30_000, maxConnectionsPerAddress: 256 });
    process.env.TRUST_PROXY = '1';
    assert.equal(defaults().overload.maxConnectionsPerAddress, 0);
  });

  it('slow clients: headers within 10 s, the request within 30 s', () => {
    const { headersTimeoutMs, requestTimeoutMs } = defaults().httpServer;
    assert.deepEqual([ headersTimeoutMs, requestTimeoutMs ], [ 10_000, 30_000 ]);
  });

  it('avatars: 2 MiB, 25 megapixels, 4096 px a side, 4:1, 5 s to decode, one decode at a time and 4 waiting, a 60 s upload lock', () => {
    const { maxBytes, maxInputPixels, maxInputSide, maxAspectRatio, decodeTimeoutSeconds, concurrentDecodes, decodeQueue, uploadLockMs, maxSide } = defaults().avatar;
    assert.deepEqual(
      { maxBytes, maxInputPixels, maxInputSide, maxAspectRatio, decodeTimeoutSeconds, concurrentDecodes, decodeQueue, uploadLockMs, maxSide },
      { maxBytes: 2 * 1024 * 1024, maxInputPixels: 25_000_000, maxInputSide: 4096, maxAspectRatio: 4, decodeTimeoutSeconds: 5, concurrentDecodes: 1, decodeQueue: 4, uploadLockMs: 60_000, maxSide: 640 },
    );
  });

  it('session tokens live 7 days; forced token refreshes at most one a minute, of a token at least a minute old', () => {
    const config = defaults();
    assert.equal(config.session.tokenTtlSeconds, 7 * 86_400);
    assert.equal(config.wxmp.forcedRefreshIntervalSeconds, 60);
    assert.equal(config.wxmp.forcedRefreshMinAgeSeconds, 60);
  });

  it('keeps idle connections longer than the nginx in deploy/ keeps its upstream ones (no request on a connection being closed); headers still time out in 10 s', () => {
    const config = defaults();
    const nginx = fs.readFileSync(path.join(__dirname, '../../deploy/nginx.conf'), 'utf8');
    const upstreamIdle = Number(/upstream wxmp_backend \{[^}]*keepalive_timeout (\d+)s;/.exec(nginx)?.[1]);
    assert.ok(upstreamIdle > 0, 'deploy/nginx.conf sets the upstream keepalive_timeout');
    assert.ok(config.httpServer.keepAliveTimeoutMs > upstreamIdle * 1000, `${config.httpServer.keepAliveTimeoutMs} ms > nginx's ${upstreamIdle} s`);
    assert.equal(config.httpServer.keepAliveTimeoutMs, 65_000);
    assert.equal(config.httpServer.headersTimeoutMs, 10_000);
    process.env.KEEP_ALIVE_TIMEOUT = '120';
    assert.equal(defaults().httpServer.keepAliveTimeoutMs, 120_000);
  });

  it('sessions last 30 days from their login; the audit trail 180 days', () => {
    const config = defaults();
    assert.equal(config.session.maxAgeSeconds, 30 * 86_400);
    assert.equal(config.session.cacheMs, 2000);
    assert.equal(config.internal.auditRetentionDays, 180);
    process.env.SESSION_MAX_AGE = '12h';
    assert.equal(defaults().session.maxAgeSeconds, 43_200);
  });
});

describe('test/config/defaults.test.ts (npm run dev)', () => {
  // egg-cluster reads config.cluster; egg's EggAppConfig type does not declare it
  const hostOf = () => (configLocal() as { cluster?: { listen?: { hostname?: string } } }).cluster?.listen?.hostname;
  isolateEnv([ 'HOST' ]);
  it('listens on 127.0.0.1 only (it signs tokens with the repository\'s fixed secret) unless HOST says otherwise', () => {
    assert.equal(hostOf(), '127.0.0.1');
    process.env.HOST = '0.0.0.0';
    assert.equal(hostOf(), '0.0.0.0');
  });

});
