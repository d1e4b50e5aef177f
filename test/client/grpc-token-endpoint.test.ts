import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { ClientCredentials } from "../../src/client/credentials.js";
import { TokenError } from "../../src/client/errors.js";
import { grpcTokenEndpoint } from "../../src/client/grpc-token-endpoint.js";

const creds = new ClientCredentials("tcl_1", "tsec_1");
const never = new AbortController().signal;

/** An in-memory TokenService that fails with `err`, or answers and records the call's metadata. */
function endpointFailingWith(err?: ConnectError) {
  const seen: Array<{ authorization: string | null; clientSecret: string; scope: string; audience: string[] }> = [];
  const transport = createRouterTransport(({ service }) => {
    service(TokenService, {
      issueToken(req, ctx) {
        seen.push({
          authorization: ctx.requestHeader.get("authorization"),
          clientSecret: req.clientSecret,
          scope: req.scope,
          audience: req.audience,
        });
        if (err) throw err;
        return { accessToken: "at", tokenType: "Bearer", expiresIn: 90, scope: req.scope };
      },
    });
  });
  return { endpoint: grpcTokenEndpoint({ transport, target: "memory" }), seen };
}

function oauth(code: Code, reason: string): ConnectError {
  return new ConnectError("described", code, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: "t" }) },
  ]);
}

async function failure(p: Promise<unknown>): Promise<TokenError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TokenError);
  return e as TokenError;
}

describe("grpcTokenEndpoint", () => {
  it("sends Basic credentials in metadata, not in the message", async () => {
    const { endpoint, seen } = endpointFailingWith();
    expect(await endpoint.issue(creds, { scope: "read", audiences: ["https://a"] }, never)).toEqual({
      accessToken: "at",
      expiresIn: 90,
      scope: "read",
    });
    expect(seen[0]).toEqual({
      authorization: `Basic ${Buffer.from("tcl_1:tsec_1").toString("base64")}`,
      clientSecret: "",
      scope: "read",
      audience: ["https://a"],
    });
  });

  it("takes the OAuth code from the ErrorInfo reason", async () => {
    const { endpoint } = endpointFailingWith(oauth(Code.InvalidArgument, "invalid_scope"));
    const err = await failure(endpoint.issue(creds, { scope: "x", audiences: [] }, never));
    expect(err).toMatchObject({ code: "invalid_scope", retryable: false, description: "described" });
    expect(err.context.status).toBe("InvalidArgument");
  });

  it("retries UNAVAILABLE and RESOURCE_EXHAUSTED, and INTERNAL server_error, but not UNAUTHENTICATED", async () => {
    const cases: Array<[ConnectError, string, boolean]> = [
      [new ConnectError("down", Code.Unavailable), "temporarily_unavailable", true],
      [new ConnectError("busy", Code.ResourceExhausted), "temporarily_unavailable", true],
      [oauth(Code.Internal, "server_error"), "server_error", true],
      [oauth(Code.Unauthenticated, "invalid_client"), "invalid_client", false],
      [oauth(Code.PermissionDenied, "unauthorized_client"), "unauthorized_client", false],
      [new ConnectError("what", Code.Unimplemented), "invalid_response", false],
    ];
    for (const [err, code, retryable] of cases) {
      const { endpoint } = endpointFailingWith(err);
      expect(await failure(endpoint.issue(creds, { scope: undefined, audiences: [] }, never))).toMatchObject({ code, retryable });
    }
  });
});
