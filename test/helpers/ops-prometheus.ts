/** One sample line of the Prometheus text exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: metric families' TYPE and HELP, and every sample. */
export interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses the text format (version 0.0.4) strictly: every line is a comment, blank, or a
 * sample `name{l="v",...} value [timestamp]` with the format's escapes in label values;
 * anything else throws with the line, so a malformed exposition fails the test.
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m?.[1] === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3]!)) throw new Error(`line ${i + 1}: bad TYPE: ${line}`);
        types.set(m[2]!, m[3]!);
      } else if (m?.[1] === "HELP") {
        help.set(m[2]!, m[3]!);
      }
      continue;
    }
    samples.push(parseSample(line, i + 1));
  }
  return { types, help, samples };
}

function parseSample(line: string, n: number): Sample {
  const fail = (why: string) => new Error(`line ${n}: ${why}: ${line}`);
  const name = NAME.exec(line)?.[0];
  if (!name) throw fail("no metric name");
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label || rest[label.length] !== "=" || rest[label.length + 1] !== '"') throw fail("bad label");
      rest = rest.slice(label.length + 2);
      let value = "";
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw fail("unterminated label value");
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === "\\") {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === "n") value += "\n";
          else if (e === "\\" || e === '"') value += e;
          else throw fail("bad escape");
        } else {
          value += c;
        }
      }
      if (label in labels) throw fail(`label ${label} repeated`);
      labels[label] = value;
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) throw fail("expected , or }");
    }
    rest = rest.slice(1);
  }
  const parts = rest.trim().split(/\s+/);
  if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) throw fail("bad value");
  const raw = parts[0]!;
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
  const special: Record<string, number> = { "+inf": Infinity, inf: Infinity, "-inf": -Infinity, nan: NaN };
  const value = raw.toLowerCase() in special ? special[raw.toLowerCase()]! : Number(raw);
  if (raw === "" || (Number.isNaN(value) && raw.toLowerCase() !== "nan")) throw fail("value is not a number");
  return { name, labels, value };
}

/** Samples named `name` whose labels include every pair in `labels`. */
export function find(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` with exactly these labels; 0 when absent (a counter not yet incremented). */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const exact = e.samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (exact.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} appears ${exact.length} times`);
  return exact[0]?.value ?? 0;
}
