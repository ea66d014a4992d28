import type { Context } from 'egg';
import type { PushMessage } from './index';

const SUGGESTS = new Set([ 'pass', 'review', 'risky' ]);

/**
 * media_check_async's verdict: records it on the check (wx_media_checks, by trace_id) and
 * acts on its subject (security.actOnVerdict). `review` and `risky` are logged.
 */
export default async function wxaMediaCheck(ctx: Context, message: PushMessage): Promise<void> {
  const traceId = String(message.trace_id ?? '');
  const result = (message.result ?? {}) as { suggest?: unknown; label?: unknown };
  const suggest = String(result.suggest ?? '');
  if (!traceId || !SUGGESTS.has(suggest)) throw new Error(`wxa_media_check without trace_id or result.suggest (${traceId || 'no trace_id'})`);
  // An upsert: the verdict can arrive before mediaCheckAsync recorded what it is about. Such a
  // record names no one (no openid): if no check follows (an unknown trace_id, or the user was
  // deleted), it is an orphan that the collection's TTL removes.
  const check = await ctx.models.MediaCheck.findOneAndUpdate(
    { _id: traceId },
    {
      $set: { status: suggest, label: Number(result.label ?? 100), checkedAt: new Date() },
      $setOnInsert: { mediaUrl: '', mediaType: 0, subject: {}, createdAt: new Date() },
    },
    { new: true, upsert: true },
  ).lean();
  // What the check was about decides what the verdict does (nothing yet if that is not recorded).
  if (check) await ctx.service.wxminiprogram.security.actOnVerdict(check);
  const subject = check?.subject as { kind?: string; uid?: string } | undefined;
  if (subject?.kind === 'avatar' && subject.uid) {
    await ctx.service.account.audit.record('avatar_checked', { uid: subject.uid, actor: 'wechat', detail: { suggest, label: Number(result.label ?? 100), traceId } });
  }
  if (suggest !== 'pass') ctx.logger.warn('[push] media check %s: %s (label %s) for %j', traceId, suggest, result.label, check?.subject);
}
