/** `s` as one word for a POSIX shell, quoted only when it needs to be (for commands we print). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
