import { NotPlainPages } from './not-plain-pages.js';

/** The size in the record body of a value of this serial type (SQLite's record format). */
export function serialTypeSize(serialType: number): number {
  if (serialType >= 12) return (serialType - (serialType & 1 ? 13 : 12)) / 2;
  switch (serialType) {
    case 0:
    case 8:
    case 9:
      return 0;
    case 5:
      return 6;
    case 6:
    case 7:
      return 8;
    case 10:
    case 11:
      throw new NotPlainPages(`reserved serial type ${serialType}`);
    default:
      return serialType;
  }
}

/** The integer of serial type 1-6, 8 or 9 at `pos`; null for NULL. Any other type is not read here. */
export function integerOrNull(buf: Buffer, pos: number, serialType: number): number | null {
  if (serialType === 0) return null;
  if (serialType === 8) return 0;
  if (serialType === 9) return 1;
  if (!(serialType >= 1 && serialType <= 6)) throw new NotPlainPages(`serial type ${serialType} where an integer was expected`);
  // Big-endian two's complement, byte by byte (the first one signed): no Buffer method, no BigInt, and
  // exact in a double wherever the result is a safe integer. Anything else was rounded to an unsafe one.
  const end = pos + (serialType <= 4 ? serialType : serialType === 5 ? 6 : 8);
  let value = (buf[pos]! << 24) >> 24;
  for (let i = pos + 1; i < end; i++) value = value * 256 + buf[i]!;
  if (!Number.isSafeInteger(value)) throw new NotPlainPages('an integer beyond 2^53');
  return value;
}

/** Whether the TEXT value at `pos` of serial type `serialType` is exactly `ascii`, without making a string. */
export function textEquals(buf: Buffer, pos: number, serialType: number, ascii: string): boolean {
  if (serialType < 13 || (serialType & 1) === 0 || serialTypeSize(serialType) !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (buf[pos + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
