/**
 * The benchmark's peer: a minimal Koa implementation of `GET /api/v1/mp/account/user/info`,
 * what the route costs without a framework. node:cluster with WORKERS workers, Koa,
 * jsonwebtoken with a KeyObject built once (HS256), the same MongoDB driver the app uses
 * (Mongoose's), one findOne by _id with a projection, the same JSON answer. No logging,
 * validation, rate limits or metrics: the floor the app is compared with.
 *
 * PORT, MONGODB_URI (database included), JWT_SECRET, WORKERS; prints `peer: <pid>` per worker.
 */
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import Koa from 'koa';
import { mongo } from 'mongoose';

const WORKERS = Number(process.env.WORKERS ?? 2);
const PROJECTION = { openId: 1, appid: 1, wxApps: 1, unionid: 1, isWXAuth: 1, wxUserInfo: 1, telphone: 1, _merchant: 1 } as const;
/** The deployment's first app (a user without `appid` came from it). */
const FIRST_APPID = String(process.env.WXMP_APPID ?? 'wxsandbox0000000001');

interface UserDoc {
  _id: mongo.ObjectId;
  isWXAuth?: boolean;
  telphone?: string;
  _merchant?: unknown;
  wxUserInfo?: Record<string, unknown>;
  openId: string;
  appid?: string;
  wxApps?: { appid: string; openid: string }[];
}

async function worker(): Promise<void> {
  const client = await mongo.MongoClient.connect(String(process.env.MONGODB_URI));
  const users = client.db().collection<UserDoc>('users');
  const key = crypto.createSecretKey(Buffer.from(String(process.env.JWT_SECRET), 'utf8'));
  const app = new Koa();
  app.use(async ctx => {
    if (ctx.method !== 'GET' || ctx.path !== '/api/v1/mp/account/user/info') {
      ctx.status = 404;
      ctx.body = { code: 'NOT_FOUND', message: 'Not Found' };
      return;
    }
    const m = /^Bearer (\S+)$/i.exec(ctx.get('authorization'));
    let uid: string;
    try {
      uid = (jwt.verify(m?.[1] ?? '', key, { algorithms: [ 'HS256' ] }) as { uid: string }).uid;
    } catch {
      ctx.status = 401;
      ctx.body = { code: 'UNAUTHORIZED', message: 'Invalid token; log in again' };
      return;
    }
    const user = await users.findOne({ _id: new mongo.ObjectId(uid) }, { projection: PROJECTION });
    if (!user) {
      ctx.status = 401;
      ctx.body = { code: 'USER_NOT_FOUND', message: 'This user no longer exists; log in again' };
      return;
    }
    const info = user.wxUserInfo ?? {};
    ctx.body = {
      isWXAuth: user.isWXAuth === true,
      userInfo: {
        uid: user._id.toString(), telphone: user.telphone ?? null, _merchant: user._merchant ?? null,
        nickName: info.nickName, avatarUrl: info.avatarUrl, gender: info.gender, city: info.city, province: info.province, country: info.country,
      },
      apps: [ ...new Set([ ...(user.wxApps?.some(l => l.openid === user.openId) ? [] : [ user.appid ?? FIRST_APPID ]), ...(user.wxApps ?? []).map(l => l.appid) ]) ],
    };
  });
  app.listen(Number(process.env.PORT), () => process.stdout.write(`peer: ${process.pid}\n`));
}

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  // Stop the workers and exit once they have (a worker exiting normally writes its --cpu-prof).
  process.on('SIGTERM', () => {
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  });
} else {
  process.on('SIGTERM', () => process.exit(0));
  worker().catch(err => {
    process.stderr.write(`peer: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
