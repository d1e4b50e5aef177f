import { Writable } from "node:stream";
import { inspect } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenError } from "../../src/client/errors.js";
import { TokenClient } from "../../src/client/token-client.js";
import type { TokenClientOptions } from "../../src/client/token-client-options.js";
import { startStubTokenServer } from "../helpers/stub-token-server.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FakeScheduler } from "./fake-scheduler.js";

// Secrets and tokens are never logged. Every door through which the SDK talks to the
// world (log records, thrown errors with their causes, the client object itself) is searched
// for the secret and for every token it handled.

let server: TestServer;
let creds: { clientId: string; clientSecret: string };
const lines: string[] = [];
const logger = pino({ level: "trace" }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));

beforeAll(async () => {
  server = await startTestServer();
  creds = await server.createClient({ scopes: ["read"] });
});
afterAll(() => server?.stop());

/** Everything a careless caller might print about `value`. */
function renderings(value: unknown): string[] {
  return [inspect(value, { depth: Infinity, showHidden: true }), JSON.stringify(value) ?? "", String(value), (value as Error)?.stack ?? ""];
}

function expectClean(texts: string[], secrets: string[]) {
  for (const text of texts) for (const s of secrets) expect(text.includes(s), `leaked in: ${text.slice(0, 300)}`).toBe(false);
}

describe("the client never leaks the secret or a token", () => {
  for (const transport of ["http", "grpc"] as const) {
    it(`over ${transport}: in logs, errors, or the client object`, async () => {
      lines.length = 0;
      const seenTokens: string[] = [];
      const base: TokenClientOptions = { server: server.url, transport, logger, retry: { maxAttempts: 2, baseDelayMs: 1 } };
      const good = new TokenClient({ ...base, ...creds });
      seenTokens.push(await good.getToken({ scope: "read" }));
      const errors: unknown[] = [];
      // Wrong secret (that contains the real one), an unknown scope, an unreachable server.
      const wrong = new TokenClient({ ...base, clientId: creds.clientId, clientSecret: `${creds.clientSecret}x` });
      errors.push(await wrong.getToken().catch((e: unknown) => e));
      errors.push(await good.getToken({ scope: "admin" }).catch((e: unknown) => e));
      const down = new TokenClient({ ...base, ...creds, server: "http://127.0.0.1:9" });
      errors.push(await down.getToken().catch((e: unknown) => e));
      expect(errors.map((e) => (e as TokenError).code)).toEqual(["invalid_client", "invalid_scope", "network_error"]);
      expect(lines.length).toBeGreaterThan(5);
      expectClean(
        [...lines, ...errors.flatMap(renderings), ...renderings(good), ...renderings(wrong)],
        [creds.clientSecret, ...seenTokens],
      );
      expect(lines.join("")).toContain(creds.clientId); // logs stay useful: they name the client
      await Promise.all([good.close(), wrong.close(), down.close()]);
    });
  }

  it("redacts the secret when a misbehaving server echoes it in error_description", async () => {
    const echo = (async (_input: string | URL | Request, init?: RequestInit) => {
      const basic = new Headers(init?.headers).get("authorization")!;
      const echoed = Buffer.from(basic.slice(6), "base64").toString();
      return new Response(JSON.stringify({ error: "invalid_request", error_description: `bad credentials ${echoed}` }), { status: 400 });
    }) as typeof fetch;
    const client = new TokenClient({
      server: "http://x.test",
      clientId: "id",
      clientSecret: "tsec_ECHOED",
      fetch: echo,
      scheduler: new FakeScheduler(),
      logger,
    });
    const err = await client.getToken().catch((e: unknown) => e);
    expect((err as TokenError).description).toBe("bad credentials id:[redacted]");
    expectClean(renderings(err), ["tsec_ECHOED"]);
  });

  it("does not mangle a server's words that happen to contain a short secret", async () => {
    const stub = await startStubTokenServer([
      {
        status: 400,
        body: { error: "invalid_scope", error_description: "The scope delete is not permitted for this client; secret ent refused" },
      },
    ]);
    try {
      const client = new TokenClient({ server: stub.url, clientId: "id", clientSecret: "ent" });
      const err = (await client.getToken().catch((e: unknown) => e)) as TokenError;
      expect(err.description).toBe("The scope delete is not permitted for this client; secret [redacted] refused");
      await client.close();
    } finally {
      await stub.close();
    }
  });
});
