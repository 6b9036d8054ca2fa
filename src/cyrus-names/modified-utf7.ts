// Modified UTF-7, the spelling of non-ASCII mailbox names on the IMAP wire (RFC 3501 §5.1.3).
// Printable US-ASCII (0x20-0x7e) stands for itself, except '&', written "&-". Every other
// character is written as its UTF-16 code units in a base64 variant (',' instead of '/', no
// '=' padding) between '&' and '-'. Cyrus also uses this form for its own userids:
// the mailbox user.jos&AOk- belongs to the userid "jos&AOk-" (josé).
import { quoteForLog } from '../text/quote-for-log.js';

const MODIFIED_BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const SHIFT_IN = '&';
const SHIFT_OUT = '-';
const BITS_PER_BASE64_DIGIT = 6;
const BITS_PER_CODE_UNIT = 16;

/** A string that is not valid modified UTF-7; `offset` is where in `encoded` the problem starts. */
export class ModifiedUtf7Error extends Error {
  override readonly name = 'ModifiedUtf7Error';
  constructor(
    readonly encoded: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`${quoteForLog(encoded)} is not valid modified UTF-7 (RFC 3501 §5.1.3) at offset ${offset}: ${problem}`);
  }
}

/** Encodes any well-formed string; a lone UTF-16 surrogate has no valid encoding and throws. */
export function encodeModifiedUtf7(text: string): string {
  let encoded = '';
  let index = 0;
  while (index < text.length) {
    if (representsItself(text.charCodeAt(index))) {
      encoded += text[index] === SHIFT_IN ? SHIFT_IN + SHIFT_OUT : text[index];
      index++;
      continue;
    }
    // One base64 run for all adjacent characters: the RFC forbids two runs in a row.
    let end = index;
    while (end < text.length && !representsItself(text.charCodeAt(end))) end++;
    const run = text.slice(index, end);
    const loneSurrogate = findLoneSurrogate(run);
    if (loneSurrogate >= 0) {
      throw new Error(
        `cannot encode ${quoteForLog(text)} as modified UTF-7: it contains a lone UTF-16 surrogate at offset ${index + loneSurrogate}, which is not a character`,
      );
    }
    encoded += SHIFT_IN + toModifiedBase64(run) + SHIFT_OUT;
    index = end;
  }
  return encoded;
}

/** Printable US-ASCII but '&': what modified UTF-7 leaves as it is. */
const PLAIN = /^[\x20-\x25\x27-\x7e]*$/;

/**
 * Decodes strictly, refusing every form the RFC does not allow (raw non-ASCII, a run without
 * its '-', non-zero padding bits, encoded printable ASCII, two runs in a row, broken
 * surrogate pairs), so that each decoded string has exactly one encoding.
 */
export function decodeModifiedUtf7(encoded: string): string {
  // Nearly every name is plain printable ASCII without '&', which is its own decoding.
  if (PLAIN.test(encoded)) return encoded;
  let decoded = '';
  let previousWasBase64Run = false;
  let index = 0;
  while (index < encoded.length) {
    const unit = encoded.charCodeAt(index);
    if (!representsItself(unit)) {
      throw new ModifiedUtf7Error(
        encoded,
        index,
        `U+${hex(unit)} is not printable US-ASCII; every other character must be base64-encoded between '&' and '-'`,
      );
    }
    if (encoded[index] !== SHIFT_IN) {
      decoded += encoded[index];
      previousWasBase64Run = false;
      index++;
      continue;
    }
    const end = encoded.indexOf(SHIFT_OUT, index + 1);
    if (end < 0) {
      throw new ModifiedUtf7Error(encoded, index, `'&' starts a base64 run that never ends with '-' (a literal '&' is written "&-")`);
    }
    if (end === index + 1) {
      decoded += SHIFT_IN;
      previousWasBase64Run = false;
    } else {
      if (previousWasBase64Run) {
        throw new ModifiedUtf7Error(encoded, index, 'two base64 runs in a row; they must be written as one run');
      }
      decoded += fromModifiedBase64(encoded, index + 1, end);
      previousWasBase64Run = true;
    }
    index = end + 1;
  }
  return decoded;
}

/** Printable US-ASCII is written as itself; everything else goes into a base64 run. */
function representsItself(codeUnit: number): boolean {
  return codeUnit >= 0x20 && codeUnit <= 0x7e;
}

function toModifiedBase64(codeUnits: string): string {
  let digits = '';
  let pending = 0;
  let pendingBits = 0;
  for (let index = 0; index < codeUnits.length; index++) {
    pending = (pending << BITS_PER_CODE_UNIT) | codeUnits.charCodeAt(index);
    pendingBits += BITS_PER_CODE_UNIT;
    while (pendingBits >= BITS_PER_BASE64_DIGIT) {
      pendingBits -= BITS_PER_BASE64_DIGIT;
      digits += MODIFIED_BASE64_ALPHABET[(pending >> pendingBits) & 0x3f];
    }
    pending &= (1 << pendingBits) - 1;
  }
  if (pendingBits > 0) digits += MODIFIED_BASE64_ALPHABET[(pending << (BITS_PER_BASE64_DIGIT - pendingBits)) & 0x3f];
  return digits;
}

/** Decodes encoded[start, end), the digits between '&' and '-'. */
function fromModifiedBase64(encoded: string, start: number, end: number): string {
  let codeUnits = '';
  let pending = 0;
  let pendingBits = 0;
  for (let index = start; index < end; index++) {
    const digit = MODIFIED_BASE64_ALPHABET.indexOf(encoded[index]!);
    if (digit < 0) {
      throw new ModifiedUtf7Error(
        encoded,
        index,
        `${quoteForLog(encoded[index]!)} is not a modified base64 digit (A-Z a-z 0-9 + ,) and a base64 run ends only with '-'`,
      );
    }
    pending = (pending << BITS_PER_BASE64_DIGIT) | digit;
    pendingBits += BITS_PER_BASE64_DIGIT;
    if (pendingBits >= BITS_PER_CODE_UNIT) {
      pendingBits -= BITS_PER_CODE_UNIT;
      const codeUnit = (pending >> pendingBits) & 0xffff;
      if (representsItself(codeUnit)) {
        throw new ModifiedUtf7Error(
          encoded,
          start - 1,
          `the base64 run encodes the printable character ${quoteForLog(String.fromCharCode(codeUnit))}, which must be written as itself`,
        );
      }
      codeUnits += String.fromCharCode(codeUnit);
      pending &= (1 << pendingBits) - 1;
    }
  }
  // Only the zero bits that pad the last code unit to a whole base64 digit may be left over.
  if (pendingBits >= BITS_PER_BASE64_DIGIT || pending !== 0 || codeUnits === '') {
    throw new ModifiedUtf7Error(
      encoded,
      start - 1,
      'the base64 run does not end on a whole UTF-16 code unit followed by zero padding bits',
    );
  }
  const loneSurrogate = findLoneSurrogate(codeUnits);
  if (loneSurrogate >= 0) {
    throw new ModifiedUtf7Error(encoded, start - 1, `the base64 run decodes to a lone UTF-16 surrogate U+${hex(codeUnits.charCodeAt(loneSurrogate))}`);
  }
  return codeUnits;
}

/** The index of the first surrogate that is not half of a pair, or -1. */
export function findLoneSurrogate(text: string): number {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
      else return index;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return index;
    }
  }
  return -1;
}

function hex(codeUnit: number): string {
  return codeUnit.toString(16).toUpperCase().padStart(4, '0');
}
