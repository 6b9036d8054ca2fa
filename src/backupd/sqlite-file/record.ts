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
  switch (serialType) {
    case 0:
      return null;
    case 8:
      return 0;
    case 9:
      return 1;
    case 1:
      return buf.readInt8(pos);
    case 2:
      return buf.readInt16BE(pos);
    case 3:
      return buf.readIntBE(pos, 3);
    case 4:
      return buf.readInt32BE(pos);
    case 5:
      return buf.readIntBE(pos, 6);
    case 6: {
      const value = Number(buf.readBigInt64BE(pos));
      if (!Number.isSafeInteger(value)) throw new NotPlainPages('an integer beyond 2^53');
      return value;
    }
    default:
      throw new NotPlainPages(`serial type ${serialType} where an integer was expected`);
  }
}

/** Whether the TEXT value at `pos` of serial type `serialType` is exactly `ascii`, without making a string. */
export function textEquals(buf: Buffer, pos: number, serialType: number, ascii: string): boolean {
  if (serialType < 13 || (serialType & 1) === 0 || serialTypeSize(serialType) !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (buf[pos + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
