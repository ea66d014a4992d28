import crypto, { type KeyObject } from 'node:crypto';
import os from 'node:os';
import type { Application } from 'egg';
import { mpConnection } from '../lib/db';
import { RateLimiters } from '../lib/rate_limit';
import { SingleFlight } from '../lib/single_flight';
import type { MountedToken } from '../service/wxminiprogram/auth';

const FLIGHTS = Symbol('Application#tokenFlights');
const HOLDER = Symbol('Application#tokenHolderId');
const JWT_KEY = Symbol('Application#jwtKey');
const RATE_LIMITERS = Symbol('Application#rateLimiters');
const PREVIOUS_KEYS = Symbol('Application#jwtPreviousKeys');
const FAILING = Symbol('Application#tokenRefreshFailing');
const TOKENS = Symbol('Application#wxTokens');

interface Cache {
  [FLIGHTS]?: SingleFlight;
  [HOLDER]?: string;
  [JWT_KEY]?: { secret: string; key: KeyObject };
  [RATE_LIMITERS]?: RateLimiters;
  [PREVIOUS_KEYS]?: { secrets: string; keys: KeyObject[] };
  [FAILING]?: Set<string>;
  [TOKENS]?: Map<string, { token: string; info: MountedToken }>;
}

export default {
  /** The AppIDs whose token refreshes fail in this process (logged when they start failing and when they recover). */
  get tokenRefreshFailing(): Set<string> {
    const self = this as Cache;
    self[FAILING] ??= new Set();
    return self[FAILING];
  },

  /** The mounted tokens of the apps after the first (the first app's is the seed's `app.wxToken`). */
  get wxTokens(): Map<string, { token: string; info: MountedToken }> {
    const self = this as Cache;
    self[TOKENS] ??= new Map();
    return self[TOKENS];
  },

  /** One refresh at a time per token key inside this process. */
  get tokenFlights(): SingleFlight {
    const self = this as Cache;
    self[FLIGHTS] ??= new SingleFlight();
    return self[FLIGHTS];
  },

  /**
   * JWT_SECRET as a KeyObject, built once. Given a string, jsonwebtoken 9 first tries to
   * parse it as a public key on every call, which profiled at a third of a worker's CPU.
   */
  get jwtKey(): KeyObject {
    const self = this as Cache;
    const { secret } = (this as unknown as Application).config.jwt;
    if (self[JWT_KEY]?.secret !== secret) self[JWT_KEY] = { secret, key: crypto.createSecretKey(Buffer.from(secret, 'utf8')) };
    return self[JWT_KEY].key;
  },

  /** JWT_PREVIOUS_SECRETS as KeyObjects: tokens they signed still verify during a rotation. */
  get jwtPreviousKeys(): KeyObject[] {
    const self = this as Cache;
    const secrets = (this as unknown as Application).config.session.previousSecrets;
    const id = secrets.join('\n');
    if (self[PREVIOUS_KEYS]?.secrets !== id) self[PREVIOUS_KEYS] = { secrets: id, keys: secrets.map(s => crypto.createSecretKey(Buffer.from(s, 'utf8'))) };
    return self[PREVIOUS_KEYS].keys;
  },

  /** The MongoDB-backed rate limiters (shared by every worker and host through the database). */
  get rateLimiters(): RateLimiters {
    const self = this as Cache;
    self[RATE_LIMITERS] ??= new RateLimiters(() => mpConnection(this as unknown as Application));
    return self[RATE_LIMITERS];
  },

  /** Names this process (and app instance) as a holder of the cross-process refresh lease. */
  get tokenHolderId(): string {
    const self = this as Cache;
    self[HOLDER] ??= `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
    return self[HOLDER];
  },
};
