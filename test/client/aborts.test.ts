import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { TokenClient } from "../../src/client/token-client.js";
import { closedPort, startStubTokenServer } from "../helpers/stub-token-server.js";
import { runNode } from "../helpers/tessera-process.js";
import { FakeEndpoint } from "./fake-endpoint.js";
import { FakeScheduler, settle } from "./fake-scheduler.js";

// A caller that gave up (its signal fired) or a client that was closed: the caller gets a
// TokenError with code `aborted` saying which, no request is sent, and nothing else rejects.

const SCRIPT = fileURLToPath(new URL("./scripts/aborted-calls.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/src/client/index.js", import.meta.url));

vi.setConfig({ testTimeout: 30_000 });

const BY_CALLER = { name: "TokenError", code: "aborted", message: "The token request was aborted by the caller." };
const BY_CLOSE = { name: "TokenError", code: "aborted", message: "The token request was aborted because the token client was closed." };

function setup() {
  const endpoint = new FakeEndpoint();
  const client = new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler: new FakeScheduler() });
  return { endpoint, client };
}

describe("aborted getToken calls (in process)", () => {
  it("a signal that already fired: TokenError aborted, with the signal's reason as cause, and no request", async () => {
    const { endpoint, client } = setup();
    const why = new Error("shutting down");
    const err = await client.getToken({ signal: AbortSignal.abort(why) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ ...BY_CALLER, cause: why });
    await settle();
    expect(endpoint.count).toBe(0);
  });

  it("after close(): TokenError aborted saying the client was closed, and no request", async () => {
    const { endpoint, client } = setup();
    await client.close();
    expect(await client.getToken().catch((e: unknown) => e)).toMatchObject(BY_CLOSE);
    await settle();
    expect(endpoint.count).toBe(0);
  });

  it("a caller waiting when close() is called gets the close error, not a DOMException", async () => {
    const endpoint = new FakeEndpoint(["hang"]);
    const client = new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler: new FakeScheduler() });
    const pending = client.getToken().catch((e: unknown) => e);
    await settle();
    await client.close();
    expect(await pending).toMatchObject(BY_CLOSE);
  });

  it("await using closes the client at the end of the block", async () => {
    const endpoint = new FakeEndpoint();
    let escaped: TokenClient;
    {
      await using tokens = new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler: new FakeScheduler() });
      escaped = tokens;
      expect(await tokens.getToken()).toMatch(/^tok-/);
    }
    expect(await escaped.getToken().catch((e: unknown) => e)).toMatchObject(BY_CLOSE);
  });
});

describe("aborted getToken calls in a real process", () => {
  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) first");
  });

  const CASES = [
    ["pre-aborted", "a signal that already fired", BY_CALLER],
    ["after-close", "after close()", BY_CLOSE],
  ] as const;
  for (const [name, what, expected] of CASES) {
    for (const transport of ["http", "grpc"] as const) {
      it(`${what}, over ${transport}: the script lives on, its call fails with aborted, and the server saw no request`, async () => {
        // The stub counts every request; a gRPC call would show up as an (unanswerable) request too.
        const counting = await startStubTokenServer(["token"]);
        try {
          const r = await runNode([SCRIPT], { env: { CASE: name, TESSERA_SERVER: counting.url, TRANSPORT: transport } });
          expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
          expect(JSON.parse(r.stdout)).toEqual(expected);
          expect(counting.count).toBe(0);
        } finally {
          await counting.close();
        }
      });

      it(`${what}, over ${transport}, server down: no stray rejection ends the process`, async () => {
        const r = await runNode([SCRIPT], {
          env: { CASE: name, TESSERA_SERVER: `http://127.0.0.1:${await closedPort()}`, TRANSPORT: transport },
        });
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        expect(JSON.parse(r.stdout)).toEqual(expected);
      });
    }
  }
});
