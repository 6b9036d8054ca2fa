import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeModifiedUtf7, encodeModifiedUtf7, ModifiedUtf7Error } from '../../src/cyrus-names/modified-utf7.js';

describe('modified UTF-7 known vectors', () => {
  // From RFC 3501 §5.1.3, and names observed on Cyrus 3.6.1.
  const vectors: Array<[decoded: string, encoded: string]> = [
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['☺!', '&Jjo-!'],
    ['台北日本語', '&U,BTF2XlZyyKng-'],
    ['&', '&-'],
    ['a&b', 'a&-b'],
    ['josé', 'jos&AOk-'],
    ['user.josé', 'user.jos&AOk-'],
    ['例子.中国', '&T4tbUA-.&Ti1W,Q-'],
    ['é&é', '&AOk-&-&AOk-'],
    ['😀', '&2D3eAA-'],
    ['tab\there', 'tab&AAk-here'],
    ['', ''],
    ['plain ASCII ~!@#$%^*()_+-=[]{}|;:\'",.<>/?`\\', 'plain ASCII ~!@#$%^*()_+-=[]{}|;:\'",.<>/?`\\'],
  ];
  for (const [decoded, encoded] of vectors) {
    test(`${JSON.stringify(decoded)} ↔ ${encoded}`, () => {
      assert.equal(encodeModifiedUtf7(decoded), encoded);
      assert.equal(decodeModifiedUtf7(encoded), decoded);
    });
  }
});

describe('modified UTF-7 refuses what RFC 3501 forbids', () => {
  const invalid: Array<[encoded: string, problem: RegExp]> = [
    ['&Jjo!', /never ends with '-'|not a modified base64 digit/],
    ['&U,BTFw-&ZeVnLIqe-', /two base64 runs in a row/],
    ['jos&AOk', /never ends with '-'/],
    ['a&b', /never ends with '-'/],
    ['&U/BTFw-', /"\/" is not a modified base64 digit/],
    ['&AOl-', /zero padding bits/],
    ['&A-', /whole UTF-16 code unit/],
    ['&AOkA-', /whole UTF-16 code unit/],
    ['&AGE-', /encodes the printable character "a", which must be written as itself/],
    ['&2D0-', /lone UTF-16 surrogate U\+D83D/],
    ['josé', /U\+00E9 is not printable US-ASCII/],
    ['a\r\nb', /U\+000D is not printable US-ASCII/],
  ];
  for (const [encoded, problem] of invalid) {
    test(JSON.stringify(encoded), () => {
      assert.throws(
        () => decodeModifiedUtf7(encoded),
        (error: unknown) => {
          assert.ok(error instanceof ModifiedUtf7Error);
          assert.match(error.message, /is not valid modified UTF-7 \(RFC 3501 §5\.1\.3\) at offset \d+/);
          assert.match(error.message, problem);
          assert.doesNotMatch(error.message, /[\r\n]/);
          return true;
        },
      );
    });
  }

  test('a lone surrogate cannot be encoded', () => {
    assert.throws(() => encodeModifiedUtf7('a\ud800b'), /lone UTF-16 surrogate at offset 1/);
  });
});

describe('modified UTF-7 properties', () => {
  const anyText = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' }));

  test('decoding undoes encoding for any well-formed string', () => {
    fc.assert(fc.property(anyText, (text) => decodeModifiedUtf7(encodeModifiedUtf7(text)) === text));
  });

  test('encodings are printable US-ASCII and the only encoding of their text', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const encoded = encodeModifiedUtf7(text);
        assert.match(encoded, /^[\x20-\x7e]*$/);
        assert.equal(encodeModifiedUtf7(decodeModifiedUtf7(encoded)), encoded);
      }),
    );
  });

  test('printable ASCII without & is its own encoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii' }), (text) => {
        const plain = text.replaceAll('&', '');
        return encodeModifiedUtf7(plain) === plain;
      }),
    );
  });

  test('decoding arbitrary printable ASCII either fails cleanly or round-trips', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('&', '-', 'A', 'O', 'k', ',', '+', '2', 'D', '0', 'x', '.') }), (encoded) => {
        try {
          assert.equal(encodeModifiedUtf7(decodeModifiedUtf7(encoded)), encoded);
        } catch (error) {
          assert.ok(error instanceof ModifiedUtf7Error, String(error));
        }
      }),
    );
  });
});
