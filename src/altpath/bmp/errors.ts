/**
 * Typed errors of the BMP codecs. The framer and every message decoder in
 * src/altpath/bmp throw only BmpError (and the BgpError of the BGP PDUs they
 * carry), never RangeError or TypeError. A framing error (`fatal`) ends the
 * connection, since a byte stream has no resynchronisation point; a message
 * error only skips that message.
 */
import { PathsteerError } from '../../common/errors.js';

export type BmpErrorCode = 'SHORT' | 'BAD_VERSION' | 'BAD_LENGTH' | 'OVERSIZED' | 'BAD_FIELD';

export class BmpError extends PathsteerError {
  constructor(
    readonly code: BmpErrorCode,
    message: string,
    /** The stream cannot be framed any further: the connection must be dropped. */
    readonly fatal = false,
  ) {
    super(message);
  }
}

export function bmpShort(what: string, need: number, got: number): BmpError {
  return new BmpError('SHORT', `${what} truncated: need ${need} bytes, got ${got}`);
}
