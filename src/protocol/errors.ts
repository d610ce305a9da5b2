/**
 * Typed errors of the pathsteer wire protocol. Every codec in src/protocol
 * throws only these (never RangeError, TypeError, ...), so a receiver can drop
 * and count a bad packet by `err.code` and keep running.
 */
import { PathsteerError } from '../common/errors.js';

export type ProtocolErrorCode =
  | 'SHORT'
  | 'OVERSIZED'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'BAD_TYPE'
  | 'LENGTH_MISMATCH'
  | 'BAD_FIELD'
  | 'BUFFER_TOO_SMALL';

/** Base class: a packet (or a value to encode) that the protocol does not allow. */
export class ProtocolError extends PathsteerError {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Fewer bytes than the header, or than the packet's data length says. */
export class ShortPacketError extends ProtocolError {
  constructor(
    readonly need: number,
    readonly got: number,
    what = 'pathsteer packet',
  ) {
    super('SHORT', `${what} truncated: need ${need} bytes, got ${got}`);
  }
}

/** Larger than PS_MAX_PACKET_SIZE (or more table-update records than fit). */
export class OversizedPacketError extends ProtocolError {
  constructor(
    readonly size: number,
    readonly max: number,
    what = 'pathsteer packet',
  ) {
    super('OVERSIZED', `${what} of ${size} bytes exceeds the maximum of ${max}`);
  }
}

/** The payload does not start with ff ee dd: not a pathsteer packet. */
export class BadMagicError extends ProtocolError {
  constructor(readonly magic: number) {
    super('BAD_MAGIC', `not a pathsteer packet: magic 0x${magic.toString(16).padStart(6, '0')} != 0xffeedd`);
  }
}

/** A version this codec does not speak; `version` lets a responder answer with its own. */
export class BadVersionError extends ProtocolError {
  constructor(
    readonly version: number,
    readonly supported: readonly number[],
    readonly type: number,
  ) {
    super('BAD_VERSION', `pathsteer protocol version ${version} not supported (supported: ${supported.join(', ')})`);
  }
}

/** An unknown packet type. */
export class BadTypeError extends ProtocolError {
  constructor(readonly type: number) {
    super('BAD_TYPE', `unknown pathsteer packet type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

/** The data length field disagrees with the bytes present, or the body length is impossible for the type. */
export class LengthMismatchError extends ProtocolError {
  constructor(message: string) {
    super('LENGTH_MISMATCH', message);
  }
}

/** A field value out of its range (on decode: a malformed record; on encode: a bad argument). */
export class InvalidFieldError extends ProtocolError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('BAD_FIELD', `${field}: ${message}`);
  }
}

/** encode() was given a target buffer without room for the message at that offset. */
export class BufferTooSmallError extends ProtocolError {
  constructor(
    readonly need: number,
    readonly offset: number,
    readonly length: number,
  ) {
    super('BUFFER_TOO_SMALL', `encode needs ${need} bytes at offset ${offset}, buffer has ${length}`);
  }
}
