import { ConnectionString } from 'mongodb-connection-string-url';

/** What egg-mongoose gets for one client: a URL without credentials, and the driver options. */
export interface MongoClientConfig {
  url: string;
  options: {
    serverSelectionTimeoutMS: number;
    /** The credentials from the URI, apart: egg's config dump masks `password`, and no URL carries it. */
    auth?: { username: string; password: string };
  };
}

/** A MONGODB_URI that does not parse; the message never repeats the URI (it may hold a password). */
export class InvalidMongoUriError extends Error {
  constructor() {
    super('MONGODB_URI is not a valid mongodb:// or mongodb+srv:// connection string');
  }
}

/**
 * Splits `user:password@` out of a MongoDB URI (authSource and every other option stay in
 * the query string). The URL then holds nothing secret wherever egg writes or logs it.
 */
export function mongoClientConfig(uri: string, serverSelectionTimeoutMS: number): MongoClientConfig {
  let parsed: ConnectionString;
  try {
    parsed = new ConnectionString(uri);
  } catch {
    throw new InvalidMongoUriError();
  }
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  if (!username) return { url: uri, options: { serverSelectionTimeoutMS } };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), options: { serverSelectionTimeoutMS, auth: { username, password } } };
}
