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

export interface StoredAvatar {
  id: string;
  url: string;
}

export interface AvatarDownload {
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
    const { maxBytes, maxInputPixels, maxSide, concurrentDecodes } = this.config.avatar;
    const bytes = await readCapped(upload, maxBytes);
    const format = sniffImageFormat(bytes);
    if (!format) throw invalidImage('The file is not a JPEG, PNG or WebP image');
    decodes ??= new Semaphore(concurrentDecodes);
    const output = await decodes.run(() => this.reencode(bytes, format, maxInputPixels, maxSide));
    const id = new Types.ObjectId();
    const metadata: AvatarMetadata = { uid, contentType: IMAGE_CONTENT_TYPES[format], sha256: crypto.createHash('sha256').update(output).digest('hex') };
    await new Promise<void>((resolve, reject) => {
      const up = this.bucket.openUploadStreamWithId(id, `${uid}.${format}`, { metadata });
      up.once('finish', () => resolve());
      up.once('error', reject);
      up.end(output);
    });
    return { id: id.toString(), url: this.urlOf(id.toString()) };
  }

  private async reencode(bytes: Buffer, format: ImageFormat, maxInputPixels: number, maxSide: number): Promise<Buffer> {
    let meta: Sharp.Metadata;
    try {
      // The header alone: a decompression bomb is refused here, before any pixel is decoded.
      meta = await sharp()(bytes, { limitInputPixels: false }).metadata();
    } catch {
      throw invalidImage('The image is damaged or truncated');
    }
    if (!meta.width || !meta.height) throw invalidImage('The image has no size');
    if (meta.width * meta.height > maxInputPixels) {
      throw invalidImage(`The image is ${meta.width}×${meta.height}; at most ${Math.round(maxInputPixels / 1e6)} megapixels are accepted`);
    }
    try {
      // rotate(): apply the EXIF orientation, since all metadata (EXIF, GPS, ICC, XMP) is dropped.
      const image = sharp()(bytes, { limitInputPixels: maxInputPixels, failOn: 'error' })
        .rotate()
        .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true });
      if (format === 'png') return await image.png({ compressionLevel: 9 }).toBuffer();
      if (format === 'webp') return await image.webp({ quality: 85 }).toBuffer();
      return await image.jpeg({ quality: 85, mozjpeg: true }).toBuffer();
    } catch {
      throw invalidImage('The image could not be decoded');
    }
  }

  /** The stored avatar with this id, for serving; 404 for an unknown or malformed id. */
  async find(id: string): Promise<AvatarDownload> {
    if (!/^[0-9a-f]{24}$/.test(id)) throw new NotFoundError('No such avatar');
    const objectId = new Types.ObjectId(id);
    const [ file ] = await this.bucket.find({ _id: objectId }).limit(1).toArray();
    if (!file) throw new NotFoundError('No such avatar');
    const metadata = file.metadata as AvatarMetadata;
    return {
      contentType: metadata.contentType,
      etag: `"${metadata.sha256}"`,
      length: file.length,
      open: () => this.bucket.openDownloadStream(objectId),
    };
  }

  /** Deletes `uid`'s avatars, all of them or all but `keep`. */
  async removeFor(uid: string, keep?: string): Promise<number> {
    const files = await this.bucket.find({ 'metadata.uid': uid }).toArray();
    const doomed = files.filter(f => f._id.toString() !== keep);
    for (const file of doomed) await this.remove(file._id.toString());
    return doomed.length;
  }

  /** Deletes one avatar (both its file and chunks); an unknown id is not an error. */
  async remove(id: string): Promise<void> {
    try {
      await this.bucket.delete(new Types.ObjectId(id));
    } catch (err) {
      if (!/FileNotFound|File not found/i.test((err as Error).message)) throw err;
    }
  }

  /** Records the media check's verdict on the file. */
  async markChecked(id: string, check: 'pass' | 'review'): Promise<void> {
    const db = mpConnection(this.app).db;
    await db?.collection(`${AVATAR_BUCKET}.files`).updateOne({ _id: new Types.ObjectId(id) }, { $set: { 'metadata.check': check } });
  }
}
