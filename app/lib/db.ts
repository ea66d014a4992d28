import type { Application } from 'egg';
import type { Connection } from 'mongoose';

/** The seed's named MongoDB client (`app.mongooseDB.get('mp')`), typed. */
export function mpConnection(app: Application): Connection {
  return (app.mongooseDB as { get(name: string): Connection }).get('mp');
}
