// Checks on every userid, userid pattern and channel before it can reach the IMAP wire.
// Userids and patterns go out as IMAP quoted strings, which carry anything but CR, LF and NUL: a
// CR or LF inside a quoted XBACKUP argument splits the command and runs whatever follows
// (cyrus-facts §3); a wrong channel name crashes imapd (cyrus-facts §3, spec §7). Otherwise a
// userid is refused only for what Cyrus 3.6 cannot hold in a mailbox name (mboxname_policycheck:
// control characters and " % ! / ; < > \ ` { | }, and '^', its spelling of a userid's '.'), for a
// '*', which XBACKUP cannot name without matching others, and for a trailing space, which this
// tool cannot read back. Observed on Cyrus 3.6.1 under both separators, with and without
// virtdomains: spaces anywhere, dots anywhere in the local part, # $ ' ( ) * + , : = ? @ [ ] ~ &
// and non-ASCII are held, and backed up with a quoted pattern.
import { encodeModifiedUtf7, findLoneSurrogate } from '../cyrus-names/modified-utf7.js';
import { WireValueError, type WireValueKind } from './wire-value-error.js';

/**
 * Longest userid or pattern accepted, in bytes of the modified UTF-7 form Cyrus stores
 * (`josé` is `jos&AOk-`, 8 bytes). Cyrus 3.6 caps a whole internal mailbox name, domain,
 * `user.`, userid and folders together, at 490 bytes (MAX_MAILBOX_NAME), and its default
 * auth_unix refuses logins of 81 bytes or more; 255 leaves room for folders and is far beyond
 * any real userid, so anything longer is a mistake.
 */
export const MAX_USERID_BYTES = 255;

/** Longest channel accepted: it becomes the prefix of config keys such as `<channel>_sync_host`. */
export const MAX_CHANNEL_LENGTH = 64;

const CHANNEL_CHARACTER = /^[a-z0-9_]$/;

/** Printable ASCII that Cyrus refuses in mailbox names (not in mboxname.c's GOODCHARS), with why. */
const CYRUS_REFUSES: ReadonlyMap<string, string> = new Map([
  ['!', "Cyrus uses '!' internally to separate a domain from a mailbox name"],
  ['/', "Cyrus refuses '/' inside a userid under either hierarchy separator"],
  ['^', "Cyrus uses '^' internally to store a '.' of a userid, so a userid cannot contain one"],
  ...['"', '\\', ';', '<', '>', '`', '{', '|', '}'].map(
    (character) => [character, `Cyrus does not allow '${character}' in mailbox names (nor any of " % ! / ; < > \\ \` { | })`] as const,
  ),
]);

/** Userids that Cyrus reserves (mboxname_policycheck refuses user.anyone and user.anonymous). */
const RESERVED_USERIDS: ReadonlyMap<string, string> = new Map([
  ['anyone', 'it stands for every user in Cyrus ACLs'],
  ['anonymous', 'it is the unauthenticated user'],
]);

const CHARACTER_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'NUL'],
  [0x09, 'tab'],
  [0x1b, 'ESC'],
  [0x7f, 'DEL'],
]);

/**
 * An exact Cyrus userid (`anne`, `anne.smith`, `anne smith`, `anne@example.com`, `josé`),
 * returned unchanged. Refuses what Cyrus cannot hold in a mailbox name (control characters,
 * " % ! / ; < > \ ` { | } ^, an empty local part, reserved names, absurd lengths), a `*`, which
 * XBACKUP would take as a wildcard, and a trailing space, which this tool could not read back.
 * Non-ASCII is allowed: it travels as modified UTF-7.
 */
export function validateUserid(userid: string): string {
  checkUseridShape('userid', userid, { wildcards: false });
  if (userid.endsWith(' ')) {
    throw new WireValueError(
      'userid',
      userid,
      "it ends with a space; Cyrus holds and backs up such a user, but imapflow trims the end of XBACKUP's `* OK USER` line, so this tool would take the result for the userid without that space and cannot back it up: rename the user in Cyrus",
    );
  }
  const reservedBecause = RESERVED_USERIDS.get(localPartOf(userid));
  if (reservedBecause) {
    throw new WireValueError('userid', userid, `"${localPartOf(userid)}" is reserved by Cyrus (${reservedBecause}) and has no mailbox`);
  }
  return userid;
}

/**
 * A userid pattern (`a*`, `*@example.com`, `%`, or an exact userid), returned unchanged: the
 * userid rules, with `*` (anything) and `%` (anything but the hierarchy separator) allowed.
 */
export function validateUseridPattern(pattern: string): string {
  checkUseridShape('pattern', pattern, { wildcards: true });
  return pattern;
}

/**
 * An XBACKUP channel, returned unchanged: lowercase letters, digits and `_` only. Cyrus
 * lowercases its config keys, so only a lowercase channel can find its `<channel>_sync_host`,
 * and an XBACKUP whose channel has none makes imapd crash.
 */
export function validateChannel(channel: string): string {
  if (channel === '') {
    throw new WireValueError(
      'channel',
      channel,
      'it is empty; XBACKUP needs the channel whose <channel>_sync_host is this backup server (without one imapd crashes), e.g. "backup"',
    );
  }
  for (const character of channel) {
    const hazard = wireHazard(character);
    if (hazard) throw new WireValueError('channel', channel, hazard);
    if (!CHANNEL_CHARACTER.test(character)) {
      const lowercase = channel.toLowerCase();
      const suggestion = [...lowercase].every((c) => CHANNEL_CHARACTER.test(c)) ? `; use "${lowercase}"` : '';
      throw new WireValueError(
        'channel',
        channel,
        `it contains ${describeCharacter(character)}; a channel may only contain lowercase letters, digits and '_', because Cyrus lowercases its config keys: any other name never finds its <channel>_sync_host, and imapd crashes on an XBACKUP with such a channel${suggestion}`,
      );
    }
  }
  if (channel.length > MAX_CHANNEL_LENGTH) {
    throw new WireValueError('channel', channel, `it is ${channel.length} characters long; the limit is ${MAX_CHANNEL_LENGTH}`);
  }
  return channel;
}

function checkUseridShape(what: WireValueKind, value: string, options: { wildcards: boolean }): void {
  const refuse = (reason: string): never => {
    throw new WireValueError(what, value, reason);
  };
  if (value === '') {
    refuse(options.wildcards ? 'it is empty; give a userid or a pattern such as "a*" or "*@example.com"' : 'it is empty; give a userid such as "anne" or "anne@example.com"');
  }
  // By code point, so a lone surrogate comes out on its own and is refused as such.
  for (const character of value) {
    const hazard = wireHazard(character);
    if (hazard) refuse(hazard);
    // Non-ASCII controls travel as modified UTF-7 and Cyrus holds them; ASCII ones it refuses.
    if (/^\p{Cc}$/u.test(character) && character < '\x80') {
      refuse(`it contains the control character ${describeCharacter(character)}; Cyrus does not allow control characters in mailbox names`);
    }
    if (character === '*' && !options.wildcards) {
      refuse(
        "it contains '*'; Cyrus allows it in a userid, but XBACKUP reads every '*' as a wildcard and has no escape for it, so this user cannot be backed up without every other user the name matches (a*b also selects a b and a#b): rename the user in Cyrus, or give a pattern where one is meant",
      );
    }
    if (character === '%' && !options.wildcards) {
      refuse("it contains the wildcard '%'; Cyrus does not allow '%' in mailbox names (give a pattern where one is meant)");
    }
    const cyrusRefuses = CYRUS_REFUSES.get(character);
    if (cyrusRefuses) refuse(`it contains ${describeCharacter(character)}; ${cyrusRefuses}`);
  }
  const at = value.lastIndexOf('@');
  if (at === 0) {
    refuse(options.wildcards ? "its local part (before '@') is empty; for every user of a domain write *@domain" : "its local part (before '@') is empty");
  }
  if (at >= 0) {
    // Dots in the local part are Cyrus's '^' and may be anywhere; in a domain they are levels.
    const domain = value.slice(at + 1);
    if (domain === '') refuse("its domain (after '@') is empty");
    if (domain.startsWith('.')) refuse("its domain starts with '.'; Cyrus does not allow empty name levels");
    if (domain.endsWith('.')) refuse("its domain ends with '.'; Cyrus does not allow empty name levels");
    if (domain.includes('..')) refuse("its domain contains '..'; Cyrus does not allow empty name levels");
  }
  const cyrusBytes = encodeModifiedUtf7(value).length;
  if (cyrusBytes > MAX_USERID_BYTES) {
    refuse(`it is ${cyrusBytes} bytes long as Cyrus spells it (modified UTF-7); the limit is ${MAX_USERID_BYTES}, since Cyrus keeps a whole mailbox name, folders included, under 490 bytes`);
  }
}

/** Why a character can never be sent in an IMAP command, or undefined if it can. */
function wireHazard(character: string): string | undefined {
  if (character === '\r' || character === '\n') {
    return 'it contains a line break (CR or LF); userids, patterns and channels reach the IMAP wire, where a line break ends the command and runs whatever follows as a new one';
  }
  if (character === '\0') return 'it contains a NUL character, which IMAP cannot carry';
  if (findLoneSurrogate(character) >= 0) {
    return `it contains a lone UTF-16 surrogate (${describeCharacter(character)}), which is not valid Unicode and cannot be encoded for IMAP`;
  }
  return undefined;
}

/** `'B'`, `'é' (U+00E9)`, `U+0009 (tab)`: readable, and never a raw control character. */
function describeCharacter(character: string): string {
  const codePoint = character.codePointAt(0)!;
  const code = `U+${hex(codePoint)}`;
  if (/^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]$/u.test(character)) {
    const name = CHARACTER_NAMES.get(codePoint);
    return name ? `${code} (${name})` : code;
  }
  return codePoint < 0x80 ? `'${character}'` : `'${character}' (${code})`;
}

function localPartOf(userid: string): string {
  const at = userid.lastIndexOf('@');
  return at < 0 ? userid : userid.slice(0, at);
}

function hex(codePoint: number): string {
  return codePoint.toString(16).toUpperCase().padStart(4, '0');
}
