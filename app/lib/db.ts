import type { Application } from 'egg';
import type { Connection } from 'mongoose';

/** The seed's named MongoDB client (`app.mongooseDB.get('mp')`), typed. */
export function mpConnection(app: Application): Connection {
  return (app.mongooseDB as { get(name: string): Connection }).get('mp');
}

/** MongoDB's duplicate key error (E11000), from any write path. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}

/**
 * Runs an upsert that concurrent callers may race on a unique key: MongoDB lets one insert
 * and fails the others with E11000, and a retry then finds the winner's document.
 */
export async function retryOnDuplicateKey<T>(upsert: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await upsert();
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= attempts) throw err;
    }
  }
}
