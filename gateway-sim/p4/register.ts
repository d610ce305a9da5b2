/**
 * A register array: `size` cells of `width` bits that the data plane reads and
 * writes at line rate (Tofino stateful ALUs), and the control plane writes one
 * cell per transaction. Widths are those Tofino-1 register cells have: 1, 8,
 * 16, 32, and 64 (a pair of 32). `direct` registers are indexed by an exact
 * table's entry handle (TNA DirectRegister).
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
  private readonly small: Uint32Array | undefined;
  private readonly wide: BigUint64Array | undefined;
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
    if (def.width <= 32) this.small = new Uint32Array(def.size);
    else this.wide = new BigUint64Array(def.size);
  }

  get def(): RegisterDef {
    return { name: this.name, width: this.width, size: this.size, ...(this.direct ? { direct: this.direct } : {}) };
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RegisterError(this.name, `index ${i} outside 0..${this.size - 1}`);
  }

  read(i: number): bigint {
    this.check(i);
    return this.small ? BigInt(this.small[i]!) : this.wide![i]!;
  }

  write(i: number, v: bigint): void {
    this.check(i);
    if (typeof v !== 'bigint' || v < 0n || v > this.max) throw new RegisterError(this.name, `value ${String(v)} does not fit ${this.width} bits`);
    if (this.small) this.small[i] = Number(v);
    else this.wide![i] = v;
  }

  /** Cells of at most 32 bits, as numbers (the hot path). */
  readNumber(i: number): number {
    if (!this.small) throw new RegisterError(this.name, `readNumber on a ${this.width}-bit register; use read()`);
    this.check(i);
    return this.small[i]!;
  }

  writeNumber(i: number, v: number): void {
    if (!this.small) throw new RegisterError(this.name, `writeNumber on a ${this.width}-bit register; use write()`);
    this.check(i);
    if (!Number.isInteger(v) || v < 0 || v > Number(this.max)) throw new RegisterError(this.name, `value ${v} does not fit ${this.width} bits`);
    this.small[i] = v;
  }

  reset(i: number): void {
    this.check(i);
    if (this.small) this.small[i] = 0;
    else this.wide![i] = 0n;
  }

  clear(): void {
    this.small?.fill(0);
    this.wide?.fill(0n);
  }
}
