// `npm run lint:functions`: lists the longest functions under src/ and fails when one is longer
// than LIMIT lines without a reason. A reason is a comment on the line above the function (or
// above the statement that declares it) that starts with `long:`, e.g.
//   // long: one table of every setting reads better whole than split across files
// `-- --top N` prints the N longest functions instead (for a before/after comparison).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** Functions longer than this many lines need a written reason. */
export const LIMIT = 60;

/** One function in a source file: where it starts, how long it is, and its reason if it has one. */
export interface FunctionLength {
  file: string;
  line: number;
  name: string;
  lines: number;
  reason: string | undefined;
}

/** Every function, method, accessor, constructor and arrow function in `text`, with its length in lines. */
export function functionLengths(file: string, text: string): FunctionLength[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ file, line: start + 1, name: nameOf(node, source), lines: end - start + 1, reason: reasonOf(node, source) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name !== undefined) return named.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return "constructor";
  // An anonymous function takes the name of what it is assigned to, if anything.
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(source);
  }
  return "(anonymous)";
}

// The comment that gives the reason sits above the function, or above the statement holding it
// (`export const x = () => ...`, `foo: (a) => ...`).
function reasonOf(node: ts.Node, source: ts.SourceFile): string | undefined {
  for (let n: ts.Node | undefined = node; n !== undefined && !ts.isSourceFile(n); n = n.parent) {
    const ranges = ts.getLeadingCommentRanges(source.text, n.getFullStart()) ?? [];
    for (const r of ranges) {
      const m = /^\/\/\s*long:\s*(.+)$/m.exec(source.text.slice(r.pos, r.end));
      if (m?.[1] !== undefined) return m[1].trim();
    }
    if (ts.isStatement(n) || ts.isClassElement(n) || ts.isPropertyAssignment(n)) break;
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

// Run as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const all = sourceFiles(join(root, "src")).flatMap((f) => functionLengths(relative(root, f), readFileSync(f, "utf8")));
  all.sort((a, b) => b.lines - a.lines);
  const topAt = process.argv.indexOf("--top");
  if (topAt >= 0) {
    const n = Number(process.argv[topAt + 1] ?? 20);
    for (const f of all.slice(0, n))
      console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line} ${f.name}${f.reason ? `  (long: ${f.reason})` : ""}`);
  } else {
    const unexplained = all.filter((f) => f.lines > LIMIT && f.reason === undefined);
    for (const f of unexplained) {
      console.error(
        `${f.file}:${f.line}: ${f.name} is ${f.lines} lines, more than ${LIMIT}: split it, or say why not in a "// long: ..." comment above it`,
      );
    }
    if (unexplained.length > 0) process.exitCode = 1;
    else console.log(`every function in src/ is at most ${LIMIT} lines or says why it is longer`);
  }
}
