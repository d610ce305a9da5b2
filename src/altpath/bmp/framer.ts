/**
 * Stream framing for BMP (RFC 7854 §3.3: a router sends messages back to back
 * over one TCP connection; each starts with the common header whose length
 * field delimits it). The framer only cuts the byte stream into whole
 * messages; `decode` (messages.ts) parses them. It checks the version and
 * length of each header as soon as it has one, so a broken stream is refused
 * before megabytes are buffered. A framing error is fatal (BmpError with
 * `fatal: true`): there is no resynchronisation point in a byte stream, so the
 * framer refuses further input and the collector drops that connection.
 */
import { BMP_COMMON_HEADER_SIZE, BMP_MAX_MESSAGE_SIZE, BMP_VERSION } from './constants.js';
import { BmpError } from './errors.js';

export interface BmpFramerOptions {
  /** Largest message accepted. @default BMP_MAX_MESSAGE_SIZE */
  maxMessageSize?: number;
}

export class BmpFramer {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Bytes the held message needs in all (its length once the header is in, else the header size). */
  private need = 0;
  private failed: BmpError | undefined;
  private readonly max: number;

  constructor(opts: BmpFramerOptions = {}) {
    this.max = opts.maxMessageSize ?? BMP_MAX_MESSAGE_SIZE;
  }

  /** Bytes held back waiting for the rest of a message. */
  get pending(): number {
    return this.held;
  }

  /**
   * Feed a chunk; returns the complete messages it finishes, in order, each
   * as its own Buffer (a view of the chunk when it lies inside one).
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    if (!(chunk instanceof Uint8Array)) throw this.fail(new BmpError('BAD_FIELD', 'BMP framer: a chunk must be a Buffer or Uint8Array', true));
    if (chunk.length === 0) return [];
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.held > 0 && this.held + c.length < this.need) {
      // still inside a message whose header we checked: just hold the bytes (no copy per chunk)
      this.chunks.push(Buffer.from(c));
      this.held += c.length;
      return [];
    }
    let buf: Buffer;
    if (this.held === 0) buf = c;
    else {
      this.chunks.push(c);
      buf = Buffer.concat(this.chunks, this.held + c.length);
      this.chunks = [];
    }
    this.held = 0;
    const out: Buffer[] = [];
    let off = 0;
    for (;;) {
      const avail = buf.length - off;
      if (avail >= 1 && buf[off] !== BMP_VERSION) {
        throw this.fail(new BmpError('BAD_VERSION', `BMP stream: version ${buf[off]} at a message start is not ${BMP_VERSION}`, true));
      }
      if (avail < BMP_COMMON_HEADER_SIZE) break;
      const len = buf.readUInt32BE(off + 1);
      if (len < BMP_COMMON_HEADER_SIZE) throw this.fail(new BmpError('BAD_LENGTH', `BMP stream: message length ${len} is below the ${BMP_COMMON_HEADER_SIZE}-byte header`, true));
      if (len > this.max) throw this.fail(new BmpError('OVERSIZED', `BMP stream: message length ${len} exceeds the maximum of ${this.max}`, true));
      if (avail < len) break;
      out.push(buf.subarray(off, off + len));
      off += len;
    }
    if (off < buf.length) {
      // keep the tail as its own copy (the caller may reuse its chunk)
      const rest = buf.subarray(off);
      this.chunks = [off === 0 && buf !== c ? rest : Buffer.from(rest)];
      this.held = rest.length;
      this.need = rest.length >= BMP_COMMON_HEADER_SIZE ? rest.readUInt32BE(1) : BMP_COMMON_HEADER_SIZE;
    }
    return out;
  }

  /** Forget buffered bytes and any error. */
  reset(): void {
    this.chunks = [];
    this.held = 0;
    this.need = 0;
    this.failed = undefined;
  }

  private fail(e: BmpError): BmpError {
    this.failed = e;
    this.chunks = [];
    this.held = 0;
    return e;
  }
}
