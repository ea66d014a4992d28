import WxmpIndexService from './index';
import { WeChatError } from '../../lib/errors';
import type { ContentSuggest, IMediaCheck } from '../../model/media_check';
import type { WeChatReply } from './client';

/** msg_sec_check / media_check_async scenes: 1 profile, 2 comment, 3 forum, 4 social log. */
export type SecurityScene = 1 | 2 | 3 | 4;

export interface MsgSecCheckInput {
  openid: string;
  scene: SecurityScene;
  content: string;
  nickname?: string;
  title?: string;
  signature?: string;
}

/** The verdict: `suggest` is data, not an error; `label` 100 is normal, others name the category. */
export interface ContentVerdict {
  suggest: ContentSuggest;
  label: number;
  trace_id: string;
}

export interface MediaCheckInput {
  openid: string;
  scene: SecurityScene;
  mediaUrl: string;
  /** 1 audio, 2 image */
  mediaType: 1 | 2;
  /** What the media is, recorded so the pushed verdict's handler knows what to act on. */
  subject: Record<string, unknown>;
}

interface MsgSecCheckReply extends WeChatReply {
  result?: { suggest?: string; label?: number };
  trace_id?: string;
}

interface MediaCheckReply extends WeChatReply {
  trace_id?: string;
}

const SUGGESTS: ReadonlySet<string> = new Set([ 'pass', 'review', 'risky' ]);

/**
 * WeChat content security (内容安全), version 2, through withAccessToken (a rejected token is
 * refreshed once). WeChat's errcodes become typed errors: 40003 WECHAT_INVALID_OPENID,
 * 61010 WECHAT_USER_INACTIVE, 45009 WECHAT_RATE_LIMITED, 40129/44002/47001 WECHAT_BAD_REQUEST.
 */
export default class WxmpSecurityService extends WxmpIndexService {
  async msgSecCheck(input: MsgSecCheckInput): Promise<ContentVerdict> {
    const { client, auth } = this.service.wxminiprogram;
    const reply = await auth.withAccessToken(access_token => client.request<MsgSecCheckReply>('/wxa/msg_sec_check', {
      method: 'POST',
      query: { access_token },
      body: { version: 2, openid: input.openid, scene: input.scene, content: input.content, ...this.optional(input) },
    }));
    const suggest = reply.result?.suggest;
    if (typeof suggest !== 'string' || !SUGGESTS.has(suggest) || typeof reply.trace_id !== 'string') {
      throw new WeChatError('/wxa/msg_sec_check', 'bad_response', -2, 'no result.suggest or trace_id in the answer');
    }
    return { suggest: suggest as ContentSuggest, label: Number(reply.result?.label ?? 100), trace_id: reply.trace_id };
  }

  /** Starts an asynchronous check; its verdict arrives through the message push (wxa_media_check). */
  async mediaCheckAsync(input: MediaCheckInput): Promise<string> {
    const { client, auth } = this.service.wxminiprogram;
    const reply = await auth.withAccessToken(access_token => client.request<MediaCheckReply>('/wxa/media_check_async', {
      method: 'POST',
      query: { access_token },
      body: { version: 2, openid: input.openid, scene: input.scene, media_url: input.mediaUrl, media_type: input.mediaType },
    }));
    if (typeof reply.trace_id !== 'string' || !reply.trace_id) {
      throw new WeChatError('/wxa/media_check_async', 'bad_response', -2, 'no trace_id in the answer');
    }
    // An upsert: WeChat's verdict may be pushed (and recorded) before this line runs.
    await this.ctx.models.MediaCheck.updateOne({ _id: reply.trace_id }, {
      $set: { openid: input.openid, mediaUrl: input.mediaUrl, mediaType: input.mediaType, subject: input.subject, createdAt: new Date() },
      $setOnInsert: { status: 'pending' },
    }, { upsert: true });
    return reply.trace_id;
  }

  /**
   * Acts on a media check's verdict: a `risky` avatar is deleted (no longer served) and leaves
   * its user's profile; `pass`/`review` are noted on the file. Called by whichever side learns
   * the second half (WeChat does not order its push after its answer): the push handler when
   * the subject was recorded first, setAvatar when the verdict was. Both may act; it is
   * idempotent.
   */
  async actOnVerdict(check: Pick<IMediaCheck, 'subject' | 'status'>): Promise<void> {
    const subject = check.subject as { kind?: string; uid?: string; fileId?: string };
    if (check.status === 'pending' || subject.kind !== 'avatar' || !subject.uid || !subject.fileId) return;
    const { user } = this.service.wxminiprogram;
    if (check.status === 'risky') {
      await user.rejectAvatar(subject.uid, subject.fileId);
      return;
    }
    await this.service.account.avatar.markChecked(subject.fileId, check.status);
    await user.pruneAvatars(subject.uid);
  }

  private optional(input: MsgSecCheckInput): Record<string, string> {
    const out: Record<string, string> = {};
    if (input.nickname !== undefined) out.nickname = input.nickname;
    if (input.title !== undefined) out.title = input.title;
    if (input.signature !== undefined) out.signature = input.signature;
    return out;
  }
}
