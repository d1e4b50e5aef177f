/** A short, printable rendering of caller input for error messages (at most 40 characters, JSON-quoted). */
export function preview(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(cut);
}
