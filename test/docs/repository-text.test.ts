import { readdirSync, readFileSync, type Stats, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// What the repository says speaks to its readers, a user of Tessera or the next engineer: it
// names no issue numbers, no work sessions, no founding document and no files a reader of the
// repository does not have.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const SCANNED = ["README.md", "src", "test", "bench", "examples", "proto", "bin", "deploy", ".ci", "console"];
const TEXT = /\.(ts|tsx|mts|cts|js|mjs|cjs|json|md|proto|py|go|sh|yaml|yml|service|env|txt|html|css)$|^(run|tessera)$/;

const FORBIDDEN: [RegExp, string][] = [
  [/\bissue\s+#?\d+/i, "an issue number"],
  [/\bthe seed\b|\bseed's\b|\bseed document\b/i, "the founding document"],
  [/\bFACTS\.md\b|\bSTYLE\.md\b/, "a file readers do not have"],
  [/\bthis session\b|\bsession's (profile-driven )?changes\b|\bthe review found\b/i, "narration of how the code came to be"],
];

function files(path: string): string[] {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return [];
  }
  if (st.isDirectory()) return readdirSync(path).flatMap((name) => files(join(path, name)));
  const name = path.split("/").pop()!;
  return TEXT.test(name) && path !== SELF ? [path] : [];
}

describe("text in the repository", () => {
  it("mentions no issue numbers, no founding document, no internal files and no work sessions", () => {
    const found: string[] = [];
    const scanned = SCANNED.flatMap((p) => files(join(ROOT, p)));
    expect(scanned.length).toBeGreaterThan(100); // the walk really read the tree
    for (const file of scanned) {
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          for (const [pattern, what] of FORBIDDEN) {
            if (pattern.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
          }
        });
    }
    expect(found).toEqual([]);
  });
});
