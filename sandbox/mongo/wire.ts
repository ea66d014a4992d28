/**
 * MongoDB wire protocol framing: OP_QUERY (legacy handshake), OP_MSG (everything else),
 * and the two reply forms. Only what drivers 5–7 send is understood; anything else is a
 * protocol error that closes the one connection it came on.
 */
import { deserialize, serialize, Long, type Document } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const HEADER_SIZE = 16;
/** mongod's limit; a larger length prefix is treated as garbage. */
export const MAX_MESSAGE_SIZE = 48_000_000;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

const FLAG_CHECKSUM_PRESENT = 1;
export const FLAG_MORE_TO_COME = 2;

/** A request that cannot be parsed: the connection it came on is closed. */
export class ProtocolError extends Error {}

export interface CommandRequest {
  requestId: number;
  opCode: typeof OP_QUERY | typeof OP_MSG;
  /** Database the command addresses (`$db` or the OP_QUERY namespace). */
  db: string;
  /** Command body with any document sequences merged in as arrays. */
  body: Document;
  /** The client asked for no reply (OP_MSG moreToCome). */
  moreToCome: boolean;
}

const BSON_OPTIONS = { promoteLongs: true, promoteValues: true, validation: { utf8: true } } as const;

function readBsonAt(buf: Buffer, offset: number, end: number): { doc: Document; next: number } {
  if (offset + 5 > end) throw new ProtocolError('truncated BSON document');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new ProtocolError('BSON document length out of bounds');
  try {
    return { doc: deserialize(buf.subarray(offset, offset + size), BSON_OPTIONS), next: offset + size };
  } catch (err) {
    throw new ProtocolError(`corrupt BSON: ${(err as Error).message}`);
  }
}

function readCString(buf: Buffer, offset: number, end: number): { value: string; next: number } {
  const zero = buf.indexOf(0, offset);
  if (zero < 0 || zero >= end) throw new ProtocolError('unterminated cstring');
  return { value: buf.toString('utf8', offset, zero), next: zero + 1 };
}

/** Parses one complete message (header included). */
export function parseMessage(msg: Buffer): CommandRequest {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  const end = msg.length;
  if (opCode === OP_QUERY) {
    // flags, fullCollectionName, numberToSkip, numberToReturn, query
    const ns = readCString(msg, HEADER_SIZE + 4, end);
    const { doc } = readBsonAt(msg, ns.next + 8, end);
    const dot = ns.value.indexOf('.');
    const db = dot < 0 ? ns.value : ns.value.slice(0, dot);
    const body = (doc.$query && typeof doc.$query === 'object') ? doc.$query as Document : doc;
    return { requestId, opCode, db, body, moreToCome: false };
  }
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(HEADER_SIZE);
    const sectionsEnd = (flags & FLAG_CHECKSUM_PRESENT) ? end - 4 : end;
    let offset = HEADER_SIZE + 4;
    let body: Document | undefined;
    const sequences: Record<string, Document[]> = {};
    while (offset < sectionsEnd) {
      const kind = msg.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        if (body) throw new ProtocolError('OP_MSG with two body sections');
        const read = readBsonAt(msg, offset, sectionsEnd);
        body = read.doc;
        offset = read.next;
      } else if (kind === 1) {
        if (offset + 4 > sectionsEnd) throw new ProtocolError('truncated document sequence');
        const seqEnd = offset + msg.readInt32LE(offset);
        if (seqEnd > sectionsEnd || seqEnd < offset + 5) throw new ProtocolError('document sequence length out of bounds');
        const id = readCString(msg, offset + 4, seqEnd);
        const docs: Document[] = [];
        let pos = id.next;
        while (pos < seqEnd) {
          const read = readBsonAt(msg, pos, seqEnd);
          docs.push(read.doc);
          pos = read.next;
        }
        sequences[id.value] = (sequences[id.value] ?? []).concat(docs);
        offset = seqEnd;
      } else {
        throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!body) throw new ProtocolError('OP_MSG without a body section');
    for (const [ name, docs ] of Object.entries(sequences)) {
      const inline = Array.isArray(body[name]) ? body[name] as Document[] : [];
      body[name] = inline.concat(docs);
    }
    const db = typeof body.$db === 'string' ? body.$db : 'admin';
    return { requestId, opCode, db, body, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_COMPRESSED) throw new ProtocolError('OP_COMPRESSED is not supported (no compressors are advertised)');
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** Encodes the reply in the form the request came in. */
export function encodeReply(req: CommandRequest, reply: Document): Buffer {
  const doc = serialize(reply);
  if (req.opCode === OP_QUERY) {
    const fixed = Buffer.alloc(20);
    fixed.writeInt32LE(0, 0); // responseFlags
    const cursorId = Long.ZERO;
    fixed.writeInt32LE(cursorId.low, 4);
    fixed.writeInt32LE(cursorId.high, 8);
    fixed.writeInt32LE(0, 12); // startingFrom
    fixed.writeInt32LE(1, 16); // numberReturned
    const length = HEADER_SIZE + fixed.length + doc.length;
    return Buffer.concat([ header(length, req.requestId, OP_REPLY), fixed, doc ]);
  }
  const flags = Buffer.alloc(5); // flagBits = 0, then section kind 0
  const length = HEADER_SIZE + flags.length + doc.length;
  return Buffer.concat([ header(length, req.requestId, OP_MSG), flags, doc ]);
}

/**
 * Reassembles messages from a TCP stream: survives a message split across chunks and
 * several messages in one chunk. Throws ProtocolError on an impossible length prefix.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readInt32LE(0);
      if (length < HEADER_SIZE || length > MAX_MESSAGE_SIZE) {
        throw new ProtocolError(`invalid message length ${length}`);
      }
      if (this.buffered < length) break;
      out.push(this.take(length));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [ Buffer.concat(this.chunks) ];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const msg = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [ rest ] : [];
    this.buffered = rest.length;
    return msg;
  }
}
