// Characters a reader cannot see, or that change how the text around them is shown: control
// and format characters (zero-width space U+200B, soft hyphen U+00AD, byte order mark U+FEFF,
// the bidi controls U+202A-U+202E and U+2066-U+2069), surrogates, private-use and unassigned
// code points, line and paragraph separators, and every Default_Ignorable_Code_Point (Hangul
// fillers, variation selectors). In an audience or a scope they let two values that look
// identical in a terminal, a log or an audit trail differ.
const INVISIBLE = /[\p{C}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/** The first invisible character in `s`, written as `U+XXXX`, or undefined when there is none. */
export function firstInvisibleCharacter(s: string): string | undefined {
  const code = INVISIBLE.exec(s)?.[0].codePointAt(0);
  if (code === undefined) return undefined;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** `s` shortened and quoted with every character outside printable ASCII escaped, for error messages. */
export function escapedPreview(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}...` : s;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
