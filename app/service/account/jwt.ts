import { Service } from 'egg';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import { UnauthorizedError } from '../../lib/errors';

/** What a session token carries (the seed's payload; mid/role are null for users without a merchant). */
export interface SessionClaims {
  uid: string;
  isWXAuth: boolean;
  /** The user's openid in the token's app. */
  openId: string;
  /** The mini-program the token was issued for; absent in tokens of the one-app release (the first app's). */
  appid?: string;
  mid: string | null;
  role: string | null;
  /** The login's session; absent in tokens issued before sessions existed (they live until they expire). */
  sid?: string;
}

/** Verified claims, with the registered ones jsonwebtoken adds. */
export type VerifiedClaims = SessionClaims & Pick<JwtPayload, 'iat' | 'exp'>;

/** Clock skew tolerated between the host that signed a token and the one verifying it. */
const CLOCK_SKEW_SECONDS = 60;

function isClaims(value: unknown): value is VerifiedClaims {
  const v = value as Partial<SessionClaims> | null;
  return !!v && typeof v === 'object' && typeof v.uid === 'string' && typeof v.openId === 'string' && (v.appid === undefined || typeof v.appid === 'string') && (v.sid === undefined || typeof v.sid === 'string');
}

function invalid(): UnauthorizedError {
  return new UnauthorizedError('Invalid token; log in again');
}

export default class JwtService extends Service {
  // jsonwebtoken (the version egg-jwt is pinned to by the override) is called directly with
  // the cached KeyObject: egg-jwt's app.jwt.sign/verify only take the secret as a string.

  /** Signs an HS256 session token expiring after JWT_EXPIRES_IN (default 7 days). */
  create(claims: SessionClaims): string {
    return jwt.sign({ ...claims }, this.app.jwtKey, { algorithm: 'HS256', expiresIn: this.config.session.tokenTtlSeconds });
  }

  /**
   * Verifies a session token: HS256 only (never `none` or another algorithm), with a numeric
   * `exp` that has not passed and lies no further ahead than a token we issue now would.
   */
  verify(token: string): VerifiedClaims {
    let payload: unknown;
    // JWT_SECRET first, then the previous secrets of a rotation (only for a bad signature).
    const keys = [ this.app.jwtKey, ...this.app.jwtPreviousKeys ];
    for (let i = 0; ; i++) {
      try {
        payload = jwt.verify(token, keys[i], { algorithms: [ 'HS256' ] });
        break;
      } catch (err) {
        const badSignature = (err as Error).message === 'invalid signature';
        if (badSignature && i + 1 < keys.length) continue;
        const expired = (err as Error).name === 'TokenExpiredError';
        throw new UnauthorizedError(expired ? 'Token expired; log in again' : 'Invalid token; log in again', expired ? 'TOKEN_EXPIRED' : 'UNAUTHORIZED');
      }
    }
    if (!isClaims(payload)) throw invalid();
    const latestExp = Math.floor(Date.now() / 1000) + this.config.session.tokenTtlSeconds + CLOCK_SKEW_SECONDS;
    if (typeof payload.exp !== 'number' || payload.exp > latestExp) throw invalid();
    return payload;
  }
}
