/** Longest part of a value repeated in a message: enough to recognise it, not enough to flood a log. */
const MAX_QUOTED_CHARACTERS = 200;

/**
 * `value` as a double-quoted string safe on one log line: JSON escapes (CR, LF, NUL, other C0
 * controls, quotes, backslashes, lone surrogates) plus \u escapes for what JSON leaves raw but a
 * terminal or log viewer may act on (DEL, C1 controls such as CSI, Unicode format characters
 * such as bidi overrides, line and paragraph separators). Long values are cut.
 */
export function quoteForLog(value: string): string {
  const shown = value.length > MAX_QUOTED_CHARACTERS ? value.slice(0, MAX_QUOTED_CHARACTERS) : value;
  const quoted = escapeControlCharacters(JSON.stringify(shown));
  return shown === value ? quoted : `${quoted}… (${value.length} characters in all)`;
}

/** `text` with every character a terminal or log viewer may act on (see quoteForLog) written as a \u escape. */
export function escapeControlCharacters(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (character) =>
    [...Array(character.length).keys()]
      .map((index) => `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}
