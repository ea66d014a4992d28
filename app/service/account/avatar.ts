import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { Service } from 'egg';
import { mongo, Types } from 'mongoose';
import type Sharp from 'sharp';
import { mpConnection } from '../../lib/db';
import { ApiError, BadRequestError, NotFoundError } from '../../lib/errors';
import { IMAGE_CONTENT_TYPES, sniffImageFormat, type ImageFormat } from '../../lib/image';
import { Semaphore } from '../../lib/semaphore';

let sharpModule: typeof Sharp | undefined;
/**
 * sharp (libvips) is loaded on a worker's first upload, not at boot: it adds ~18 MiB to the
 * RSS of every worker, and most workers serve no image for a long time.
 */
function sharp(): typeof Sharp {
  // eslint-disable-next-line @typescript-eslint/no-var-requires -- loaded on the first upload, not at start
  sharpModule ??= require('sharp') as typeof Sharp;
  return sharpModule;
}

export const AVATAR_BUCKET = 'avatars';
/** The public path an avatar is served at (PUBLIC_BASE_URL + this). */
export const AVATAR_PATH = '/api/v1/mp/account/avatar/';

/** What each stored avatar file carries (GridFS `metadata`). */
export interface AvatarMetadata {
  uid: string;
  contentType: string;
  /** Hex sha256 of the stored bytes: the strong ETag. */
  sha256: string;
  /** The media check's verdict once it arrived. */
  check?: 'pass' | 'review';
}

/** An avatar's id: 22 random base64url characters (128 bits); a 24-hex ObjectId for those stored before. */
const AVATAR_ID = /^(?:[A-Za-z0-9_-]{22}|[0-9a-f]{24})$/;

/**
 * The GridFS `_id` of an avatar: the random string itself, or the ObjectId of an avatar stored
 * by an earlier release (their URLs keep working). GridFS takes any `_id`; the driver's types
 * say ObjectId, hence the one cast.
 */
function fileId(id: string): mongo.ObjectId {
  return (/^[0-9a-f]{24}$/.test(id) ? new Types.ObjectId(id) : id) as unknown as mongo.ObjectId;
}

function newAvatarId(): string {
  return crypto.randomBytes(16).toString('base64url');
}

/** A stored avatar file as GridFS lists it. */
interface AvatarFile {
  _id: unknown;
  metadata?: AvatarMetadata;
}

type ListedAvatar = { id: string; check?: AvatarMetadata['check'] };

/** The newest approved avatar of a list (newest first) other than `except`. */
function newestApproved(files: ListedAvatar[], except: string | undefined): string | undefined {
  return files.find(f => f.id !== except && f.check === 'pass')?.id;
}

export interface StoredAvatar {
  id: string;
  url: string;
}

export interface AvatarDownload {
  /** Whether WeChat's media check passed it: only then may caches keep it for good. */
  approved: boolean;
  contentType: string;
  etag: string;
  length: number;
  open(): Readable;
}

let decodes: Semaphore | undefined;

function invalidImage(message: string): BadRequestError {
  return new BadRequestError(message, 'INVALID_IMAGE');
}

/** Reads at most `maxBytes` of an upload; more is a 413 (the connection is then closed, not drained). */
async function readCapped(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The image is larger than ${Math.round(maxBytes / 1024)} KiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Avatars in MongoDB GridFS (bucket `avatars`): checked by their bytes, re-encoded with
 * sharp (at most 640×640, no metadata: EXIF carries GPS positions), served by id.
 */
export default class AvatarService extends Service {
  private get bucket(): mongo.GridFSBucket {
    const db = mpConnection(this.app).db;
    if (!db) throw new Error('database not connected');
    return new mongo.GridFSBucket(db, { bucketName: AVATAR_BUCKET });
  }

  /** The public URL the avatar with this id is served at (what a user's avatarUrl holds). */
  urlOf(id: string): string {
    return `${this.config.avatar.publicBaseUrl}${AVATAR_PATH}${id}`;
  }

  /** Reads, checks, re-encodes and stores an uploaded image for `uid`. */
  async store(uid: string, upload: Readable): Promise<StoredAvatar> {
    const { maxBytes, concurrentDecodes, decodeQueue } = this.config.avatar;
    const bytes = await readCapped(upload, maxBytes);
    const format = sniffImageFormat(bytes);
    if (!format) throw invalidImage('The file is not a JPEG, PNG or WebP image');
    decodes ??= new Semaphore(concurrentDecodes);
    if (decodes.pending >= decodeQueue) {
      const busy = new ApiError(503, 'BUSY', 'Images are being processed; retry in a few seconds');
      busy.retryAfterSeconds = 2;
      throw busy;
    }
    const output = await decodes.run(() => this.reencode(bytes, format));
    const id = newAvatarId();
    const metadata: AvatarMetadata = { uid, contentType: IMAGE_CONTENT_TYPES[format], sha256: crypto.createHash('sha256').update(output).digest('hex') };
    await new Promise<void>((resolve, reject) => {
      const up = this.bucket.openUploadStreamWithId(fileId(id), `${uid}.${format}`, { metadata });
      up.once('finish', () => resolve());
      up.once('error', reject);
      up.end(output);
    });
    return { id, url: this.urlOf(id) };
  }

  private async reencode(bytes: Buffer, format: ImageFormat): Promise<Buffer> {
    const { maxInputPixels, maxInputSide, maxAspectRatio, maxSide, decodeTimeoutSeconds } = this.config.avatar;
    let meta: Sharp.Metadata;
    try {
      // The header alone: what the image claims is refused here, before any pixel is decoded.
      meta = await sharp()(bytes, { limitInputPixels: false }).metadata();
    } catch {
      throw invalidImage('The image is damaged or truncated');
    }
    const { width, height } = meta;
    if (!width || !height) throw invalidImage('The image has no size');
    if (width * height > maxInputPixels) {
      throw invalidImage(`The image is ${width}×${height}; at most ${Math.round(maxInputPixels / 1e6)} megapixels are accepted`);
    }
    // chooseAvatar hands over a cropped square; a strip of 1 × 25,000,000 pixels costs seconds to decode.
    if (Math.max(width, height) > maxInputSide) throw invalidImage(`The image is ${width}×${height}; a side may be at most ${maxInputSide} pixels`);
    if (Math.max(width, height) > maxAspectRatio * Math.min(width, height)) {
      throw invalidImage(`The image is ${width}×${height}; an avatar may be at most ${maxAspectRatio} times wider than high (or higher than wide)`);
    }
    try {
      // rotate(): apply the EXIF orientation, since all metadata (EXIF, GPS, ICC, XMP) is dropped.
      // timeout(): a decode that still runs after this long is abandoned (libvips stops it).
      const image = sharp()(bytes, { limitInputPixels: maxInputPixels, failOn: 'error' })
        .rotate()
        .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
        .timeout({ seconds: decodeTimeoutSeconds });
      if (format === 'png') return await image.png({ compressionLevel: 9 }).toBuffer();
      if (format === 'webp') return await image.webp({ quality: 85 }).toBuffer();
      return await image.jpeg({ quality: 85, mozjpeg: true }).toBuffer();
    } catch (err) {
      if (/timeout/i.test((err as Error).message)) throw invalidImage(`The image took more than ${decodeTimeoutSeconds} s to decode`);
      throw invalidImage('The image could not be decoded');
    }
  }

  /** The stored avatar with this id, for serving; 404 for an unknown or malformed id. */
  async find(id: string): Promise<AvatarDownload> {
    if (!AVATAR_ID.test(id)) throw new NotFoundError('No such avatar');
    const [ file ] = await this.bucket.find({ _id: fileId(id) }).limit(1).toArray();
    if (!file) throw new NotFoundError('No such avatar');
    const metadata = file.metadata as AvatarMetadata;
    return {
      approved: metadata.check === 'pass',
      contentType: metadata.contentType,
      etag: `"${metadata.sha256}"`,
      length: file.length,
      open: () => this.bucket.openDownloadStream(fileId(id)),
    };
  }

  /** The id in an avatar URL of ours, or undefined for any other URL (a WeChat one, none). */
  idOf(url: string | undefined): string | undefined {
    const prefix = this.urlOf('');
    if (!url?.startsWith(prefix)) return undefined;
    const id = url.slice(prefix.length);
    return AVATAR_ID.test(id) ? id : undefined;
  }

  /** The URLs of every avatar stored for `uid`, newest first (the data export). */
  async urlsFor(uid: string): Promise<string[]> {
    return (await this.filesOf(uid)).map(f => this.urlOf(f.id));
  }

  private async filesOf(uid: string): Promise<ListedAvatar[]> {
    const files = await this.bucket.find({ 'metadata.uid': uid }).sort({ uploadDate: -1 }).toArray() as AvatarFile[];
    return files.map(f => ({ id: String(f._id), check: f.metadata?.check }));
  }

  /** `uid`'s newest approved avatar other than `except`: what the profile falls back to when a new one is rejected. */
  async fallbackFor(uid: string, except: string): Promise<string | undefined> {
    return newestApproved(await this.filesOf(uid), except);
  }

  /**
   * Deletes the avatars of `uid` no longer needed: never `current` (what the profile shows),
   * never one still awaiting its verdict, and, while `current` has not passed, not the newest
   * approved one either (it comes back if `current` is rejected). A file is deleted only when
   * no profile references it.
   */
  async prune(uid: string, current: string | undefined): Promise<number> {
    const files = await this.filesOf(uid);
    const currentApproved = files.some(f => f.id === current && f.check === 'pass');
    const fallback = currentApproved ? undefined : newestApproved(files, current);
    const doomed = files.filter(f => f.id !== current && f.id !== fallback && f.check !== undefined);
    for (const file of doomed) await this.remove(file.id);
    return doomed.length;
  }

  /** Deletes every avatar of `uid`. */
  async removeFor(uid: string): Promise<number> {
    const files = await this.filesOf(uid);
    for (const file of files) await this.remove(file.id);
    return files.length;
  }

  /** Deletes one avatar (both its file and chunks); an unknown id is not an error. */
  async remove(id: string): Promise<void> {
    if (!AVATAR_ID.test(id)) return;
    try {
      await this.bucket.delete(fileId(id));
    } catch (err) {
      if (!/FileNotFound|File not found/i.test((err as Error).message)) throw err;
    }
  }

  /** Records the media check's verdict on the file. */
  async markChecked(id: string, check: 'pass' | 'review'): Promise<void> {
    if (!AVATAR_ID.test(id)) return;
    const db = mpConnection(this.app).db;
    await db?.collection(`${AVATAR_BUCKET}.files`).updateOne({ _id: fileId(id) }, { $set: { 'metadata.check': check } });
  }
}
