import { describe, expect, it } from "vitest";
import { ClientConfigError } from "../../src/client/errors.js";
import { grpcTokenEndpoint } from "../../src/client/grpc-token-endpoint.js";
import { httpTokenEndpoint } from "../../src/client/http-token-endpoint.js";
import { TokenClient } from "../../src/client/token-client.js";

// The server URL is checked when the client is built, with one sentence per mistake, before
// any request could be retried as a network error.

const CREDS = { clientId: "tcl_x", clientSecret: "tsec_x" };

function refusal(make: () => unknown): ClientConfigError {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(ClientConfigError);
    return err as ClientConfigError;
  }
  throw new Error("expected a ClientConfigError");
}

describe("the server URL", () => {
  for (const transport of ["http", "grpc"] as const) {
    it(`over ${transport}: refuses a server without a scheme at construction, saying what to write`, () => {
      const err = refusal(() => new TokenClient({ ...CREDS, transport, server: "localhost:8080" }));
      expect(err.message).toBe(
        'The server (the server option) must be an http:// or https:// URL such as http://localhost:8080, not "localhost:8080"; did you mean "http://localhost:8080"?',
      );
    });
  }

  it("names TESSERA_SERVER when the URL came from there", () => {
    const err = refusal(() => new TokenClient({ ...CREDS, env: { TESSERA_SERVER: "tessera.internal:8080" } }));
    expect(err.message).toMatch(/^The server \(TESSERA_SERVER\) must be an http:\/\/ or https:\/\/ URL/);
  });

  it("refuses other schemes and non-URLs", () => {
    for (const server of ["ftp://tessera.test", "not a url", "grpc://localhost:8080"]) {
      expect(refusal(() => new TokenClient({ ...CREDS, server })).message).toContain(`not ${JSON.stringify(server)}`);
    }
  });

  it("refuses a query or a fragment, which would land in the middle of every endpoint's path", () => {
    for (const server of ["https://tessera.test/?tenant=a", "http://localhost:8080#x", "http://localhost:8080/?"]) {
      expect(refusal(() => new TokenClient({ ...CREDS, server })).message).toBe(
        `The server (the server option) must be Tessera's base URL without a query or fragment, such as https://auth.example.com, not ${JSON.stringify(server)}.`,
      );
    }
    expect(refusal(() => new TokenClient({ ...CREDS, env: { TESSERA_SERVER: "https://[::1]:8080?x" } })).message).toMatch(
      /^The server \(TESSERA_SERVER\) must be Tessera's base URL/,
    );
  });

  it("refuses credentials in the URL without repeating them", () => {
    for (const server of ["https://admin:hunter2@tessera.test", "http://admin:hunter2@localhost:8080/", "admin:hunter2@localhost:8080"]) {
      const err = refusal(() => new TokenClient({ ...CREDS, server }));
      expect(err.message).not.toContain("hunter2");
      expect(err.message).not.toContain("admin:");
      expect(err.message).toContain("[redacted]@");
    }
    expect(refusal(() => new TokenClient({ ...CREDS, server: "https://admin:hunter2@tessera.test" })).message).toBe(
      'The URL in the server option must not contain credentials ("https://[redacted]@tessera.test"); pass clientId and clientSecret, or set CLIENT_ID and CLIENT_SECRET.',
    );
  });

  it("accepts http and https base URLs, with or without a trailing slash, and asks the token endpoint under them", async () => {
    for (const [server, tokenUrl] of [
      ["http://localhost:8080", "http://localhost:8080/oauth/token"],
      ["https://tessera.example.com/", "https://tessera.example.com/oauth/token"],
      ["http://[::1]:8080", "http://[::1]:8080/oauth/token"],
    ]) {
      const asked: string[] = [];
      const answer: typeof fetch = async (input) => {
        asked.push(String(input));
        return new Response(JSON.stringify({ access_token: "tok", token_type: "Bearer", expires_in: 3600 }), {
          headers: { "content-type": "application/json" },
        });
      };
      const client = new TokenClient({ ...CREDS, server, fetch: answer });
      expect(await client.getToken()).toBe("tok");
      expect(asked).toEqual([tokenUrl]);
      await client.close();
    }
  });

  it("refuses credentials in the URL of an endpoint built directly", () => {
    const err = refusal(() => httpTokenEndpoint({ tokenUrl: "http://admin:hunter2@127.0.0.1:8080/oauth/token" }));
    expect(err.message).toBe(
      'The URL in tokenUrl must not contain credentials ("http://[redacted]@127.0.0.1:8080/oauth/token"); pass clientId and clientSecret, or set CLIENT_ID and CLIENT_SECRET.',
    );
    expect(refusal(() => grpcTokenEndpoint({ baseUrl: "http://admin:hunter2@127.0.0.1:8080" })).message).not.toContain("hunter2");
  });
});
