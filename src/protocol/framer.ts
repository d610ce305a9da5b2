/**
 * Stream framing for pathsteer packets carried over a byte stream (a control
 * socket, a capture file) rather than one per UDP datagram: the data length field
 * delimits each packet. Framing is separate from parsing: push() cuts complete
 * packets and hands each to decode().
 *
 * A stream has no resynchronisation point, so after a framing error the framer
 * refuses more input until reset().
 */
import { OFF, PS_HEADER_SIZE, PS_MAGIC, PS_MAX_PACKET_SIZE } from './constants.js';
import { BadMagicError, InvalidFieldError, LengthMismatchError, OversizedPacketError, type ProtocolError } from './errors.js';
import { decode, type DecodeOptions, type Message } from './messages.js';

export class PacketFramer {
  private buf: Buffer = Buffer.alloc(0);
  private failed: ProtocolError | undefined;

  constructor(private readonly opts: DecodeOptions = {}) {}

  /** Bytes held back waiting for the rest of a packet. */
  get pending(): number {
    return this.buf.length;
  }

  /** Feed a chunk; returns every packet it completes, in order. Throws (typed) on a framing or packet error. */
  push(chunk: Uint8Array): Message[] {
    if (this.failed) throw this.failed;
    if (!(chunk instanceof Uint8Array)) throw new InvalidFieldError('chunk', 'expected a Buffer or Uint8Array');
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Message[] = [];
    let off = 0;
    try {
      for (;;) {
        const avail = this.buf.length - off;
        if (avail >= 3) {
          const magic = this.buf.readUIntBE(off, 3);
          if (magic !== PS_MAGIC) throw new BadMagicError(magic);
        }
        if (avail < OFF.dataLength + 2) break;
        const n = this.buf.readUInt16BE(off + OFF.dataLength);
        if (n < PS_HEADER_SIZE) throw new LengthMismatchError(`data length ${n} is shorter than the ${PS_HEADER_SIZE}-byte header`);
        if (n > PS_MAX_PACKET_SIZE) throw new OversizedPacketError(n, PS_MAX_PACKET_SIZE, 'data length');
        if (avail < n) break;
        out.push(decode(this.buf, off, n, this.opts));
        off += n;
      }
    } catch (e) {
      this.failed = e as ProtocolError;
      this.buf = Buffer.alloc(0);
      throw e;
    }
    this.buf = off === 0 ? this.buf : Buffer.from(this.buf.subarray(off));
    return out;
  }

  /** Forget buffered bytes and any error (the caller resynchronised the stream). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.failed = undefined;
  }
}
