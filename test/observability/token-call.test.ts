import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../src/core/errors.js";
import { RequestObserver } from "../../src/observability/request-observer.js";
import { TokenCall } from "../../src/observability/token-call.js";

/** A real RequestObserver logging JSON lines into an array. */
function observed(): { observer: RequestObserver; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { observer: new RequestObserver(pino({ level: "info" }, sink), undefined), lines };
}

describe("TokenCall", () => {
  it("logs one line per call with what the door saw: client id, scope (empty as absent), origin, outcome; never the secret", () => {
    const { observer, lines } = observed();
    const call = new TokenCall(observer, "grpc", "token", "10.0.0.1");
    call.saw({ clientId: "tcl_a", clientSecret: "tsec_never_logged", method: "client_secret_post" }, "");
    call.end(new OAuthError("invalid_scope", "no"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "token request",
      transport: "grpc",
      endpoint: "token",
      client_id: "tcl_a",
      origin: "10.0.0.1",
      outcome: "error",
      error: "invalid_scope",
    });
    expect(lines[0]).not.toHaveProperty("scope");
    expect(typeof lines[0]?.latency_ms).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("tsec_never_logged");
  });

  it("an aborted call is logged as aborted without its error: the caller left, no fault of the server", () => {
    const { observer, lines } = observed();
    new TokenCall(observer, "http", "revoke", undefined).end(new Error("socket closed"), true);
    expect(lines[0]).toMatchObject({ transport: "http", endpoint: "revoke", outcome: "aborted" });
    expect(lines[0]).not.toHaveProperty("error");
  });
});
