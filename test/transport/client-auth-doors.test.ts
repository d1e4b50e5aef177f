import { describe, expect, it } from "vitest";
import { OAuthError } from "../../src/core/errors.js";
import { callerCredentials } from "../../src/transport/grpc/token-requests.js";
import { parseClientCredentials } from "../../src/transport/http/token-request-parser.js";
import { basic } from "../helpers/test-server.js";

// The form endpoint and the gRPC services read client credentials by the same rules: for every
// mix of Authorization value, client_id and client_secret, the same credentials or the same refusal.

describe("the form and gRPC doors authenticate alike", () => {
  type Case = { authorization?: string | undefined; clientId?: string | undefined; clientSecret?: string | undefined };
  const cases: Case[] = [];
  for (const authorization of [undefined, basic("a", "s"), basic("b", "t"), "Bearer x", "Basic !!!!"]) {
    for (const clientId of [undefined, "a", "b"]) {
      for (const clientSecret of [undefined, "s", "\ufeffs"]) cases.push({ authorization, clientId, clientSecret });
    }
  }
  const outcome = (f: () => unknown) => {
    try {
      return { ok: f() };
    } catch (err) {
      return { refused: err instanceof OAuthError ? [err.code, err.description, err.authMethod] : String(err) };
    }
  };

  it.each(cases.map((c) => [JSON.stringify(c), c] as const))("%s", (_, c) => {
    const form = new Map<string, string[]>();
    if (c.clientId !== undefined) form.set("client_id", [c.clientId]);
    if (c.clientSecret !== undefined) form.set("client_secret", [c.clientSecret]);
    const message = { clientId: c.clientId ?? "", clientSecret: c.clientSecret ?? "" };
    expect(outcome(() => callerCredentials(message, c.authorization ?? null))).toEqual(
      outcome(() => parseClientCredentials(c.authorization, "", form)),
    );
  });
});
