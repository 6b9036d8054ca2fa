import { inspect } from 'node:util';

/**
 * A password that cannot leak by accident: it prints, serialises and logs as `[redacted]`.
 * Only `reveal()` yields the text, and only the IMAP login calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(
    value: string,
    /** Where it came from (`file /etc/...` or `env IMAP1_PASSWORD`), safe to show. */
    readonly source: string,
  ) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return `Secret(${this.source})`;
  }
}
