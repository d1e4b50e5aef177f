import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from "jose";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";

/** RFC 7523 §2.2. */
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** The asymmetric algorithms a server accepts for client assertions (never none, never HS*). */
const ALGS = ["ES256", "EdDSA", "RS256", "PS256"];
/** The longest assertion lifetime accepted, seconds (what Tessera defaults to). */
const MAX_LIFETIME_S = 300;

/** A platform whose tokens a federated client presents: its issuer, keys and the subject trusted. */
export interface StubPlatform {
  issuer: string;
  jwks: JSONWebKeySet;
  subject: string;
}

/** What the stub is told about the one client it knows. */
export interface AssertionStubOptions {
  clientId: string;
  /** The client's registered public keys (private_key_jwt). */
  keys?: JWK[];
  /** A platform trusted for the client (a federated credential). */
  platform?: StubPlatform;
  /** The issuer its metadata names; default: its own URL (as Tessera reached at its issuer). */
  issuer?: (url: string) => string;
  /** Serve gRPC / Connect (HTTP/2, h2c) instead of HTTP/1.1 forms. */
  grpc?: boolean;
  /** Answer the first N token requests with 503 before checking anything. */
  failFirst?: number;
}

/** One assertion the stub verified and accepted. */
export interface AcceptedAssertion {
  kind: "private_key_jwt" | "platform_token";
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
  /** The assertion as it arrived, to check it never shows up anywhere else. */
  raw: string;
}

/** A real token endpoint that verifies client assertions as RFC 7523 requires, on a loopback port. */
export interface AssertionStub {
  url: string;
  issuer: string;
  accepted: AcceptedAssertion[];
  /** The error_description of every refusal, in order. */
  refusals: string[];
  /** Every assertion received, accepted, refused or answered with 503. */
  received: string[];
  /** Token requests received (including 503s), and metadata requests. */
  readonly tokenRequests: number;
  readonly metadataRequests: number;
  close(): Promise<void>;
}

/** Thrown by the checks: an invalid_client refusal with its reason. */
class Refusal extends Error {}

/**
 * Starts a token endpoint for one client that checks, as Tessera's server does: the assertion
 * type; for private_key_jwt the signature with the registered key chosen by kid, iss = sub =
 * client_id, aud exactly the issuer (a string, or an array holding only it), exp in the
 * future, a lifetime of at most 5 minutes, a jti not seen before, typ absent or
 * client-authentication+jwt, an asymmetric alg; for a platform token the platform's signature,
 * issuer, subject and our issuer as audience. It answers a token, or 401 invalid_client.
 */
export async function startAssertionStub(o: AssertionStubOptions): Promise<AssertionStub> {
  const accepted: AcceptedAssertion[] = [];
  const refusals: string[] = [];
  const received: string[] = [];
  const jtis = new Set<string>();
  let tokenRequests = 0;
  let metadataRequests = 0;
  let issuer = "";

  async function verify(clientId: string, type: string, assertion: string): Promise<void> {
    if (type !== JWT_BEARER) throw new Refusal("wrong client_assertion_type");
    received.push(assertion);
    const header = decodeProtectedHeader(assertion);
    // A federated credential is found by the token's issuer; anything else is the client's own assertion.
    if (o.platform && decodeJwt(assertion).iss === o.platform.issuer) {
      const { payload } = await jwtVerify(assertion, createLocalJWKSet(o.platform.jwks), {
        issuer: o.platform.issuer,
        subject: o.platform.subject,
        audience: issuer,
        algorithms: ALGS,
      });
      if (clientId !== o.clientId) throw new Refusal("platform token for another client");
      accepted.push({ kind: "platform_token", header, payload, raw: assertion });
      return;
    }
    if (typeof header.alg !== "string" || !ALGS.includes(header.alg)) throw new Refusal("alg not allowed");
    if (header.typ !== undefined && header.typ !== "client-authentication+jwt") throw new Refusal("wrong typ");
    const key = (o.keys ?? []).find((k) => k.kid === header.kid);
    if (key === undefined) throw new Refusal("unknown kid");
    const { payload } = await jwtVerify(assertion, createLocalJWKSet({ keys: [key] }), {
      issuer: clientId,
      subject: clientId,
      audience: issuer,
      algorithms: ALGS,
      requiredClaims: ["exp", "jti"],
    }).catch((err: unknown) => {
      throw new Refusal(`assertion rejected: ${(err as Error).message}`);
    });
    // RFC 7523bis: the issuer identifier alone, not a token endpoint URL next to it.
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (aud.length !== 1 || aud[0] !== issuer) throw new Refusal("aud is not exactly the issuer");
    if (clientId !== o.clientId) throw new Refusal("unknown client");
    const lifetime = payload.exp! - (payload.iat ?? Math.floor(Date.now() / 1000));
    if (lifetime > MAX_LIFETIME_S) throw new Refusal("assertion lives too long");
    // Recorded only once every other check passed.
    if (jtis.has(payload.jti!)) throw new Refusal("jti replayed");
    jtis.add(payload.jti!);
    accepted.push({ kind: "private_key_jwt", header, payload, raw: assertion });
  }

  /** Checks a token request's client authentication; undefined when accepted, or the refusal's description. */
  async function check(clientId: string | undefined, type: string | undefined, assertion: string | undefined): Promise<string | undefined> {
    try {
      // RFC 7521 §4.2: client_id is optional with an assertion; the assertion's sub names the client.
      if (!assertion) throw new Refusal("no client assertion");
      const id = clientId || decodeJwt(assertion).sub || "";
      await verify(id, type ?? "", assertion);
      return undefined;
    } catch (err) {
      const why = err instanceof Refusal ? err.message : `assertion rejected: ${(err as Error).message}`;
      refusals.push(why);
      return why;
    }
  }

  const token = () => ({ access_token: `stub-token-${tokenRequests}`, token_type: "Bearer", expires_in: 3600 });
  const metadata = () => ({
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    token_endpoint_auth_methods_supported: ["private_key_jwt"],
    token_endpoint_auth_signing_alg_values_supported: ALGS,
  });

  async function formRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const json = (status: number, body: object): void => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/.well-known/oauth-authorization-server") {
      metadataRequests++;
      return json(200, metadata());
    }
    if (req.method !== "POST" || req.url !== "/oauth/token") return json(404, { error: "not_found" });
    tokenRequests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    if (tokenRequests <= (o.failFirst ?? 0)) {
      received.push(form.get("client_assertion") ?? "");
      return json(503, { error: "temporarily_unavailable", error_description: "try again" });
    }
    if (req.headers.authorization) return json(400, { error: "invalid_request", error_description: "two authentication methods" });
    if (form.get("grant_type") !== "client_credentials") return json(400, { error: "unsupported_grant_type" });
    const refused = await check(
      form.get("client_id") ?? undefined,
      form.get("client_assertion_type") ?? undefined,
      form.get("client_assertion") ?? undefined,
    );
    if (refused !== undefined) return json(401, { error: "invalid_client", error_description: refused });
    json(200, token());
  }

  const routes = (router: ConnectRouter) =>
    router.service(TokenService, {
      async issueToken(req, ctx) {
        tokenRequests++;
        if (tokenRequests <= (o.failFirst ?? 0)) {
          received.push(req.clientAssertion);
          throw new ConnectError("try again", Code.Unavailable);
        }
        if (ctx.requestHeader.get("authorization")) throw new ConnectError("two authentication methods", Code.InvalidArgument);
        const refused = await check(req.clientId, req.clientAssertionType, req.clientAssertion);
        if (refused !== undefined) {
          throw new ConnectError(refused, Code.Unauthenticated, undefined, [
            { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "invalid_client", domain: "stub" }) },
          ]);
        }
        const t = token();
        return { accessToken: t.access_token, tokenType: t.token_type, expiresIn: t.expires_in, scope: "" };
      },
    });

  const sockets = new Set<Socket>();
  const server = o.grpc
    ? http2.createServer(connectNodeAdapter({ routes }))
    : http.createServer((req, res) => {
        formRequest(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
      });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = o.issuer ? o.issuer(url) : url;
  return {
    url,
    issuer,
    accepted,
    refusals,
    received,
    get tokenRequests() {
      return tokenRequests;
    },
    get metadataRequests() {
      return metadataRequests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
