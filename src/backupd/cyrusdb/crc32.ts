import * as zlib from 'node:zlib';

/**
 * CRC-32 as used by twoskip: the zlib/PKZIP one (reflected polynomial
 * 0xEDB88320, init and final XOR 0xFFFFFFFF). Returns an unsigned 32-bit number.
 */
export type Crc32 = (data: Uint8Array) => number;

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** Plain table-driven CRC-32 for Node versions without `zlib.crc32` (before 20.15). */
export const crc32Portable: Crc32 = (data) => {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

// zlib.crc32 is native and several times faster; the typings claim it always exists,
// but on Node < 20.15 it does not.
export const crc32: Crc32 = typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) : crc32Portable;
