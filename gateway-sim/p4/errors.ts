/**
 * Errors of the gateway pipeline model, named after P4Runtime's status codes
 * where one applies (ALREADY_EXISTS, NOT_FOUND, RESOURCE_EXHAUSTED,
 * INVALID_ARGUMENT). Each names the table or register it concerns.
 */
import { PathsteerError } from '../../src/common/errors.js';

export class GatewaySimError extends PathsteerError {}

/** An entry, key or value that the table's definition does not allow (INVALID_ARGUMENT). */
export class InvalidEntryError extends GatewaySimError {
  constructor(
    readonly table: string,
    message: string,
  ) {
    super(`table ${table}: ${message}`);
  }
}

/** Insert of an entry whose match (and priority) is already present (ALREADY_EXISTS). */
export class DuplicateEntryError extends GatewaySimError {
  constructor(readonly table: string) {
    super(`table ${table}: an entry with this match and priority already exists; modify it instead`);
  }
}

/** Modify or delete of an entry that is not there (NOT_FOUND). */
export class EntryNotFoundError extends GatewaySimError {
  constructor(readonly table: string) {
    super(`table ${table}: no entry with this match and priority`);
  }
}

/** Insert into a full table (RESOURCE_EXHAUSTED). */
export class TableFullError extends GatewaySimError {
  constructor(
    readonly table: string,
    readonly size: number,
  ) {
    super(`table ${table} is full (${size} entries); declare a larger size`);
  }
}

/** A register index or value out of range. */
export class RegisterError extends GatewaySimError {
  constructor(
    readonly register: string,
    message: string,
  ) {
    super(`register ${register}: ${message}`);
  }
}

/** The program does not fit the target's stages/SRAM/TCAM; names the first table that does not. */
export class ResourceError extends GatewaySimError {
  constructor(
    readonly object: string,
    message: string,
  ) {
    super(message);
  }
}

/** A path-table update the gateway refuses (wrong window, unknown peer, update path not allowed). */
export class UpdateRejectedError extends GatewaySimError {
  constructor(
    message: string,
    /** Index of the offending record in its packet, when it came in a packet. */
    readonly record?: number,
  ) {
    super(record === undefined ? message : `record ${record}: ${message}`);
  }
}
