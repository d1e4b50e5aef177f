// `npm run docs:config [-- FILE]`: writes the README's configuration table from SETTINGS, the table
// that also defines serve's flags, variables, defaults and --help. A test fails when the
// README's copy differs, so the two cannot drift apart.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ENV_ONLY_SETTINGS, SETTINGS, type Setting } from "../src/config.js";

/** The markers around the generated table in README.md. */
export const BEGIN = "<!-- configuration table: generated from src/config.ts by `npm run docs:config` -->";
export const END = "<!-- end of the generated configuration table -->";

/** The Markdown table of every `tessera serve` setting. */
export function configTable(): string {
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const rows = (Object.values(SETTINGS) as Setting[]).map((s) => {
    const env = [s.env, s.envAlias]
      .filter((e) => e !== undefined)
      .map((e) => `\`${e}\``)
      .join(", ");
    const def = s.defText ?? (s.def === undefined || s.def === "" ? "none" : `\`${s.def}\``);
    return `| \`--${s.flag}\` | ${env} | ${cell(def)} | ${cell(s.help)} |`;
  });
  const envOnly = ENV_ONLY_SETTINGS.map((s) => `| (environment only) | \`${s.env}\` | none | ${cell(s.help)} |`);
  return `${["| flag | environment | default | meaning |", "|---|---|---|---|", ...rows, ...envOnly].join("\n")}\n`;
}

/** `readme` with the text between the markers replaced by the generated table. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${BEGIN} ... ${END}`);
  return `${readme.slice(0, start + BEGIN.length)}\n${configTable()}${readme.slice(end)}`;
}

// Run as a script: rewrite README.md (or the file given as the first argument) in place.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? fileURLToPath(new URL("../README.md", import.meta.url));
  const before = readFileSync(path, "utf8");
  const after = withConfigTable(before);
  writeFileSync(path, after);
  console.log(after === before ? `${path}: the configuration table was up to date` : `${path}: configuration table rewritten`);
}
