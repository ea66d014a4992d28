import type { Context } from 'egg';
import type { PushMessage } from './index';

/**
 * WeChat's account events (授权用户信息变更), for the app the push URL is for:
 * user_authorization_revoke (the user withdrew an authorisation: `RevokeInfo`),
 * user_authorization_cancellation (the user deleted their WeChat account) and
 * user_info_modified (WeChat cleaned a risky nickname or avatar). WeChat asks the developer to
 * delete that data promptly. An event about an openid this backend does not know is stored
 * (as every push is) and nothing else.
 */

/** RevokeInfo codes of the mini-program, and what this backend stores under each. */
const REVOKED = {
  nicknameAndAvatar: '6',
  phone: '8',
  weRun: '12',
  nicknameKeyboard: '19',
  avatarComponent: '20',
} as const;

async function userOf(ctx: Context, message: PushMessage) {
  const openid = typeof message.OpenID === 'string' ? message.OpenID : '';
  if (!openid) throw new Error(`${String(message.Event)} without OpenID`);
  const user = await ctx.service.wxminiprogram.user.userByOpenid(openid);
  if (!user) ctx.logger.info('[push] %s for an openid not known here: nothing to do', String(message.Event));
  return user;
}

export async function authorizationRevoke(ctx: Context, message: PushMessage): Promise<void> {
  const user = await userOf(ctx, message);
  if (!user) return;
  const codes = new Set(String(message.RevokeInfo ?? '').split(',').map(c => c.trim())
    .filter(Boolean));
  const users = ctx.service.wxminiprogram.user;
  const done: string[] = [];
  if (codes.has(REVOKED.phone) && await users.unbindPhone(user)) done.push('phone number unbound');
  const nickName = codes.has(REVOKED.nicknameAndAvatar) || codes.has(REVOKED.nicknameKeyboard);
  const avatar = codes.has(REVOKED.nicknameAndAvatar) || codes.has(REVOKED.avatarComponent);
  await users.clearProfile(user, { nickName, avatar });
  if (nickName) done.push('nickname cleared');
  if (avatar) done.push('avatar cleared and its files deleted');
  // WeRun steps (12) and the rest (location, address, camera...) are never stored here.
  ctx.logger.info('[push] user %s withdrew authorisation %s: %s', user._id, [ ...codes ].join(','), done.join(', ') || 'nothing of it is stored here');
  await ctx.service.account.audit.record('wechat_revoke', { uid: user._id, actor: 'wechat', detail: { revokeInfo: [ ...codes ], done } });
}

export async function authorizationCancellation(ctx: Context, message: PushMessage): Promise<void> {
  const user = await userOf(ctx, message);
  if (!user) return;
  await ctx.service.wxminiprogram.user.deleteAccount(user._id.toString(), { actor: 'wechat', reason: 'the user deleted their WeChat account' });
  ctx.logger.info('[push] user %s deleted their WeChat account: account deleted, sessions ended', user._id);
}

export async function userInfoModified(ctx: Context, message: PushMessage): Promise<void> {
  const user = await userOf(ctx, message);
  if (!user) return;
  await ctx.service.wxminiprogram.user.clearProfile(user, { nickName: true, avatar: true });
  await ctx.service.account.audit.record('wechat_profile_cleaned', { uid: user._id, actor: 'wechat', detail: { cleared: [ 'nickName', 'avatarUrl' ] } });
  ctx.logger.info('[push] WeChat cleaned the profile of user %s: nickname and avatar cleared, the app asks again', user._id);
}
