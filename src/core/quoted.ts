// RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). The quote that
// delimits a value and the escape character are kept out of the value itself.
const SHOWN_AS_IS = /^[\x20\x21\x23-\x24\x26\x28-\x5B\x5D-\x7E]$/;

/** How many characters of a caller's value an error description shows, escapes included. */
const QUOTED_MAX = 40;

/**
 * Renders a value the caller sent for an OAuth error_description, where RFC 6749 §5.2 allows
 * printable ASCII without double quote and backslash: in single quotes, with every other
 * character (and the quote ' and the escape % themselves) as %XX escapes of its UTF-8 bytes,
 * cut with "..." after about 40 characters. `read` shows as 'read', `ré"ad` as 'r%C3%A9%22ad'.
 */
export function quoted(value: string): string {
  let out = "";
  for (const ch of value) {
    const shown = SHOWN_AS_IS.test(ch) ? ch : percentEncode(ch);
    if (out.length + shown.length > QUOTED_MAX) return `'${out}...'`;
    out += shown;
  }
  return `'${out}'`;
}

function percentEncode(ch: string): string {
  let out = "";
  // A lone surrogate becomes U+FFFD (EF BF BD), as Buffer encodes it.
  for (const byte of Buffer.from(ch, "utf8")) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}
