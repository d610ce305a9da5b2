/**
 * A register array: `size` cells of `width` bits that the data plane reads and
 * writes at line rate (Tofino stateful ALUs), and the control plane writes one
 * cell per transaction. Widths are those Tofino-1 register cells have: 1, 8,
 * 16, 32, and 64 (a pair of 32). `direct` registers are indexed by an exact
 * table's entry handle (TNA DirectRegister).
 *
 * Cells live in typed arrays the data plane may use directly (`cells`, and
 * `cellsHi` for the upper half of a 64-bit cell), as a stateful ALU does: a
 * program writing them there masks the value to the cell width (`mask`), the
 * way a register action's result is truncated to its cell.
 */
import { RegisterError } from './errors.js';

export const REGISTER_WIDTHS = [1, 8, 16, 32, 64] as const;

export interface RegisterDef {
  name: string;
  width: number;
  size: number;
  /** Name of the table whose entry handles index this register. */
  direct?: string;
}

export class RegisterArray {
  readonly name: string;
  readonly width: number;
  readonly size: number;
  readonly direct: string | undefined;
  /** The cells (width ≤ 32), or the low 32 bits of each 64-bit cell. */
  readonly cells: Uint32Array;
  /** The high 32 bits of each 64-bit cell; undefined for narrower registers. */
  readonly cellsHi: Uint32Array | undefined;
  /** All ones in a cell's width (the low half's for a 64-bit register). */
  readonly mask: number;
  private readonly max: bigint;

  constructor(def: RegisterDef) {
    if (!(REGISTER_WIDTHS as readonly number[]).includes(def.width)) {
      throw new RegisterError(def.name, `width ${def.width} is not a register cell width (${REGISTER_WIDTHS.join(', ')})`);
    }
    if (!Number.isInteger(def.size) || def.size < 1) throw new RegisterError(def.name, `size ${def.size} must be a positive integer`);
    this.name = def.name;
    this.width = def.width;
    this.size = def.size;
    this.direct = def.direct;
    this.max = (1n << BigInt(def.width)) - 1n;
    this.mask = def.width >= 32 ? 0xffff_ffff : 2 ** def.width - 1;
    this.cells = new Uint32Array(def.size);
    this.cellsHi = def.width > 32 ? new Uint32Array(def.size) : undefined;
  }

  get def(): RegisterDef {
    return { name: this.name, width: this.width, size: this.size, ...(this.direct ? { direct: this.direct } : {}) };
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RegisterError(this.name, `index ${i} outside 0..${this.size - 1}`);
  }

  read(i: number): bigint {
    this.check(i);
    const lo = BigInt(this.cells[i]!);
    return this.cellsHi ? (BigInt(this.cellsHi[i]!) << 32n) | lo : lo;
  }

  write(i: number, v: bigint): void {
    this.check(i);
    if (typeof v !== 'bigint' || v < 0n || v > this.max) throw new RegisterError(this.name, `value ${String(v)} does not fit ${this.width} bits`);
    this.cells[i] = Number(v & 0xffff_ffffn);
    if (this.cellsHi) this.cellsHi[i] = Number(v >> 32n);
  }

  /** Cells of at most 32 bits, as numbers. */
  readNumber(i: number): number {
    if (this.cellsHi) throw new RegisterError(this.name, `readNumber on a ${this.width}-bit register; use read()`);
    this.check(i);
    return this.cells[i]!;
  }

  writeNumber(i: number, v: number): void {
    if (this.cellsHi) throw new RegisterError(this.name, `writeNumber on a ${this.width}-bit register; use write()`);
    this.check(i);
    if (!Number.isInteger(v) || v < 0 || v > this.mask) throw new RegisterError(this.name, `value ${v} does not fit ${this.width} bits`);
    this.cells[i] = v;
  }

  reset(i: number): void {
    this.check(i);
    this.cells[i] = 0;
    if (this.cellsHi) this.cellsHi[i] = 0;
  }

  clear(): void {
    this.cells.fill(0);
    this.cellsHi?.fill(0);
  }
}
