import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { closedPort, type StubStep, startStubTokenServer } from "../helpers/stub-token-server.js";
import { runNode } from "../helpers/tessera-process.js";

// A script that awaits getToken and has nothing else open must see its await settle: with the
// token, or in its catch with the TokenError. Node ends a process whose only pending work is
// an unref'd timer (exit 13 under a top-level await, exit 0 otherwise) without running either.
const SCRIPT = fileURLToPath(new URL("./scripts/get-token.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/src/client/index.js", import.meta.url));

vi.setConfig({ testTimeout: 30_000 });

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) first");
});

interface Case {
  name: string;
  /** The token service's behaviour, or "closed" for a port nobody listens on. */
  server: StubStep[] | "closed";
  options: Record<string, unknown>;
  /** The script's outcome: a token, or the code its catch saw. */
  expected: { token: true } | { caught: string };
}

const CASES: Case[] = [
  {
    name: "the server is down (closed port)",
    server: "closed",
    options: { retry: { maxAttempts: 2 } },
    expected: { caught: "network_error" },
  },
  { name: "one 503, then a token", server: ["503", "token"], options: {}, expected: { token: true } },
  {
    name: "429 with Retry-After every time",
    server: [{ status: 429, retryAfter: 1 }],
    options: { retry: { maxAttempts: 2 } },
    expected: { caught: "temporarily_unavailable" },
  },
  {
    name: "the connection is dropped every time",
    server: ["drop"],
    options: { retry: { maxAttempts: 2 } },
    expected: { caught: "network_error" },
  },
  {
    name: "the server never answers",
    server: ["hang"],
    options: { timeoutMs: 300, retry: { maxAttempts: 2 } },
    expected: { caught: "timeout" },
  },
];

describe("a script awaiting getToken runs to its own end", () => {
  for (const c of CASES) {
    for (const mode of ["top", "function"] as const) {
      it(`${c.name}: awaited ${mode === "top" ? "at top level" : "inside an async function"}`, async () => {
        const stub = c.server === "closed" ? undefined : await startStubTokenServer(c.server);
        const server = stub?.url ?? `http://127.0.0.1:${await closedPort()}`;
        try {
          const r = await runNode([SCRIPT], { env: { AWAIT: mode, TOKEN_CLIENT_OPTIONS: JSON.stringify({ server, ...c.options }) } });
          expect(r.stderr).toBe("");
          const outcome = JSON.parse(r.stdout.trim() || "null") as { token?: string; caught?: string; attempts?: number } | null;
          // Exit code and outcome together, so a failure shows both (13 or 0 with no outcome: the await never settled).
          if ("token" in c.expected) {
            expect({ code: r.code, token: outcome?.token?.startsWith("stub-token-") }).toEqual({ code: 0, token: true });
          } else {
            expect({ code: r.code, caught: outcome?.caught }).toEqual({ code: 3, caught: c.expected.caught }); // 3: set by the script's catch
          }
          // Two requests each time: the retry happened. (Counted by the script: a request the client
          // gave up on may never have been parsed by a busy server.)
          if ("caught" in c.expected) expect(outcome?.attempts).toBe(2);
          else expect(stub?.count).toBe(2);
        } finally {
          await stub?.close();
        }
      });
    }
  }
});
