import type { Context } from 'egg';
import { authorizationCancellation, authorizationRevoke, userInfoModified } from './account_events';
import wxaMediaCheck from './wxa_media_check';

/** A message from WeChat's push, decrypted and parsed (field names as WeChat sends them). */
export type PushMessage = Record<string, unknown> & { MsgType?: string; Event?: string; FromUserName?: string };

/** Handles one message, once; errors are logged and recorded on the stored event. */
export type PushHandler = (ctx: Context, message: PushMessage) => Promise<void>;

/**
 * The handlers, in one place: `event:<Event>` for MsgType `event`, `<MsgType>` for the rest.
 * A message without a handler is stored (7 days) and acknowledged. To add one: a file in
 * this folder exporting a PushHandler, and a line here.
 */
export const PUSH_HANDLERS: Readonly<Record<string, PushHandler>> = {
  'event:wxa_media_check': wxaMediaCheck,
  'event:user_authorization_revoke': authorizationRevoke,
  'event:user_authorization_cancellation': authorizationCancellation,
  'event:user_info_modified': userInfoModified,
};

export function handlerKey(message: PushMessage): string {
  return message.MsgType === 'event' ? `event:${String(message.Event)}` : String(message.MsgType);
}
