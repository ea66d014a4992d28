/**
 * SCRAM-SHA-256 (RFC 5802/7677) as mongod speaks it: `saslStart`/`saslContinue` (or the
 * `speculativeAuthenticate` field of the opening hello), users in the `admin` database by
 * default, `saslSupportedMechs` in hello. A connection that has not authenticated may only
 * run the handshake commands; anything else is refused with code 13, like mongod with
 * `--auth`. Passwords are ASCII (no SASLprep mapping is applied).
 */
import crypto from 'node:crypto';
import { Binary, type Document } from 'bson';
import { CommandError } from './errors';

export interface SandboxUser {
  username: string;
  password: string;
  /** The database the user is defined in (the client's `authSource`); mongod's default is admin. */
  db?: string;
}

/** What a connection knows about its authentication. */
export interface ConnectionAuth {
  user?: string;
  conversation?: { user: StoredUser | undefined; clientFirstBare: string; serverFirst: string; nonce: string };
}

interface StoredUser {
  key: string;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const MECHANISM = 'SCRAM-SHA-256';
const ITERATIONS = 15_000; // mongod's default scramSHA256IterationCount
/** Commands mongod runs before authentication. */
const OPEN_COMMANDS = new Set([ 'hello', 'isMaster', 'ismaster', 'buildInfo', 'buildinfo', 'saslStart', 'saslContinue', 'ping', 'endSessions', 'logout' ]);

const hmac = (key: Buffer, text: string) => crypto.createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest();

const authFailed = () => new CommandError(18, 'AuthenticationFailed', 'Authentication failed.');

function attributes(message: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function payloadText(value: unknown): string {
  if (value instanceof Binary) return Buffer.from(value.buffer.subarray(0, value.position)).toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  throw new CommandError(2, 'BadValue', 'payload must be binary');
}

const binary = (text: string) => new Binary(Buffer.from(text, 'utf8'));

export class ScramAuthenticator {
  private readonly users = new Map<string, StoredUser>();

  constructor(users: SandboxUser[]) {
    // Like mongod, keep only the derived keys, never the password.
    for (const u of users) {
      const salt = crypto.randomBytes(28);
      const salted = crypto.pbkdf2Sync(u.password, salt, ITERATIONS, 32, 'sha256');
      const key = `${u.db ?? 'admin'}.${u.username}`;
      this.users.set(key, { key, salt, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') });
    }
  }

  /** Throws code 13 when this connection may not run `command` yet. */
  authorize(command: string, auth: ConnectionAuth): void {
    if (auth.user || OPEN_COMMANDS.has(command)) return;
    throw new CommandError(13, 'Unauthorized', `Command ${command} requires authentication`);
  }

  /** Adds what hello tells an authenticating client: its mechanisms, and the speculative saslStart reply. */
  decorateHello(body: Document, db: string, auth: ConnectionAuth, reply: Document): Document {
    if (typeof body.saslSupportedMechs === 'string' && this.users.has(body.saslSupportedMechs)) {
      reply.saslSupportedMechs = [ MECHANISM ];
    }
    const speculative = body.speculativeAuthenticate as Document | undefined;
    if (speculative && speculative.mechanism === MECHANISM) {
      try {
        reply.speculativeAuthenticate = this.saslStart(speculative, String(speculative.db ?? db), auth);
      } catch {
        // mongod leaves the field out and the client falls back to saslStart
      }
    }
    return reply;
  }

  saslStart(body: Document, db: string, auth: ConnectionAuth): Document {
    if (body.mechanism !== MECHANISM) {
      throw new CommandError(334, 'MechanismUnavailable', `Received authentication for mechanism ${String(body.mechanism)} which is not enabled`);
    }
    const clientFirst = payloadText(body.payload);
    if (!clientFirst.startsWith('n,,')) throw new CommandError(17, 'ProtocolError', 'SCRAM: channel binding is not supported');
    const clientFirstBare = clientFirst.slice(3);
    const { n, r } = attributes(clientFirstBare);
    if (!n || !r) throw new CommandError(17, 'ProtocolError', 'SCRAM: malformed client-first message');
    const username = n.replace(/=2C/g, ',').replace(/=3D/g, '=');
    const user = this.users.get(`${db}.${username}`);
    // An unknown user gets a made-up salt and fails at the proof, so users cannot be enumerated.
    const salt = user?.salt ?? crypto.createHash('sha256').update(`${db}.${username}`).digest()
      .subarray(0, 28);
    const nonce = r + crypto.randomBytes(24).toString('base64');
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
    auth.conversation = { user, clientFirstBare, serverFirst, nonce };
    return { conversationId: 1, done: false, payload: binary(serverFirst), ok: 1 };
  }

  saslContinue(body: Document, auth: ConnectionAuth): Document {
    const conversation = auth.conversation;
    auth.conversation = undefined;
    if (!conversation) throw new CommandError(17, 'ProtocolError', 'No SASL session state found');
    const clientFinal = payloadText(body.payload);
    const { c, r, p } = attributes(clientFinal);
    if (c !== 'biws' || r !== conversation.nonce || !p) throw authFailed();
    const user = conversation.user;
    if (!user) throw authFailed();
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${conversation.clientFirstBare},${conversation.serverFirst},${withoutProof}`;
    const proof = Buffer.from(p, 'base64');
    const signature = hmac(user.storedKey, authMessage);
    if (proof.length !== signature.length) throw authFailed();
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
    if (!crypto.timingSafeEqual(sha256(clientKey), user.storedKey)) throw authFailed();
    auth.user = user.key;
    return { conversationId: 1, done: true, payload: binary(`v=${hmac(user.serverKey, authMessage).toString('base64')}`), ok: 1 };
  }
}
