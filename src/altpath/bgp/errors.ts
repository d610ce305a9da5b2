/**
 * Typed errors of the BGP message codecs. Every decoder in src/altpath/bgp
 * throws only BgpError (never RangeError, TypeError, ...), so the collector can
 * count and skip a bad message and keep the session.
 */
import { PathsteerError } from '../../common/errors.js';

export type BgpErrorCode = 'SHORT' | 'BAD_MARKER' | 'BAD_LENGTH' | 'BAD_TYPE' | 'BAD_FIELD' | 'BAD_PREFIX';

export class BgpError extends PathsteerError {
  constructor(
    readonly code: BgpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A length field points past the bytes there are. */
export function bgpShort(what: string, need: number, got: number): BgpError {
  return new BgpError('SHORT', `${what} truncated: need ${need} bytes, got ${got}`);
}
