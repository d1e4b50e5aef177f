import type * as grpc from "@grpc/grpc-js";
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from "jose";
import { eventually } from "./eventually.js";
import { getText, postForm } from "./http.js";
import { adminToken, bearer, opsClient, unary } from "./ops-grpc.js";
import { type Credentials, runTessera, startTessera, type TesseraProcess } from "./tessera-process.js";
import { basic } from "./test-server.js";

/** The issuer every replica of a test shares, so each one accepts the others' tokens. */
export const REPLICA_ISSUER = "http://tessera.replicas.test";

/** A `tessera serve` of a cluster, with grpc-js clients for its services. */
export interface Replica extends TesseraProcess {
  readonly name: string;
  readonly tokens: grpc.Client;
  readonly clients: grpc.Client;
  readonly keys: grpc.Client;
  readonly health: grpc.Client;
  /** Closes the clients and stops the process (SIGTERM unless told otherwise). */
  close(signal?: NodeJS.Signals): Promise<void>;
}

/** Options for starting replicas. */
export interface ReplicaOptions {
  /** More `tessera serve` arguments for every replica. */
  args?: string[];
  env?: Record<string, string>;
}

/** Starts one `tessera serve` on `url` with the shared issuer, named `name` in messages. */
export async function startReplica(name: string, url: string, opts: ReplicaOptions = {}): Promise<Replica> {
  const server = await startTessera({
    db: url,
    args: ["--issuer", REPLICA_ISSUER, "--log-format", "json", ...(opts.args ?? [])],
    env: opts.env ?? {},
  });
  const target = `127.0.0.1:${server.port}`;
  const grpcClients = {
    tokens: opsClient("TokenService", target),
    clients: opsClient("ClientAdmin", target),
    keys: opsClient("KeyAdmin", target),
    health: opsClient("Health", target),
  };
  return {
    ...server,
    name,
    ...grpcClients,
    async close(signal: NodeJS.Signals = "SIGTERM") {
      for (const c of Object.values(grpcClients)) c.close();
      await server.stop(signal);
    },
  };
}

/** Starts one replica per name, all at the same time; resolves with them in the names' order. */
export function startReplicas<const N extends readonly string[]>(
  names: N,
  url: string,
  opts: ReplicaOptions = {},
): Promise<{ [K in keyof N]: Replica }> {
  // Promise.all keeps the order and the length of `names`: the tuple type says so.
  return Promise.all(names.map((n) => startReplica(n, url, opts))) as Promise<{ [K in keyof N]: Replica }>;
}

/** `tessera bootstrap --db URL`: the admin client it printed. */
export async function bootstrapCluster(url: string, env: Record<string, string> = {}): Promise<Credentials> {
  const r = await runTessera(["bootstrap", "--db", url], { env });
  if (r.code !== 0) throw new Error(`tessera bootstrap failed (${r.code}): ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { client_id: string; client_secret: string };
  return { clientId: j.client_id, clientSecret: j.client_secret };
}

/** An admin's bearer metadata, with a token from `replica`. */
export async function adminAuth(replica: Replica, admin: Credentials): Promise<Record<string, string>> {
  return bearer(await adminToken(replica.tokens, admin));
}

/** POST /oauth/token at `replica` as `c`: status and body. */
export function tokenAt(replica: Replica, c: Credentials, body: Record<string, string> = {}) {
  return postForm(
    `${replica.url}/oauth/token`,
    { grant_type: "client_credentials", ...body },
    { authorization: basic(c.clientId, c.clientSecret) },
  );
}

/** A token issued at `replica` to `c` (throws unless 200). */
export async function tokenOf(replica: Replica, c: Credentials, body: Record<string, string> = {}): Promise<string> {
  const r = await tokenAt(replica, c, body);
  if (r.status !== 200) throw new Error(`${replica.name}: POST /oauth/token answered ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token as string;
}

/** The JWKS `replica` publishes. */
export async function jwksOf(replica: Replica): Promise<JSONWebKeySet> {
  return JSON.parse(await getText(`${replica.url}/.well-known/jwks.json`)) as JSONWebKeySet;
}

/** Verifies `token` against `jwks` as any resource server would (signature, typ, issuer). */
export async function verifyWith(jwks: JSONWebKeySet, token: string): Promise<JWTPayload & { kid: string | undefined }> {
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: REPLICA_ISSUER, typ: "at+jwt" });
  return { ...payload, kid: protectedHeader.kid };
}

/** RFC 7662 introspection of `token` at `replica`, as the resource server `rs`. */
export async function introspectAt(replica: Replica, rs: Credentials, token: string): Promise<Record<string, unknown>> {
  const r = await postForm(`${replica.url}/oauth/introspect`, { token }, { authorization: basic(rs.clientId, rs.clientSecret) });
  if (r.status !== 200) throw new Error(`${replica.name}: POST /oauth/introspect answered ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Creates a client through `replica`'s ClientAdmin; returns its credentials. */
export async function createClientAt(
  replica: Replica,
  auth: Record<string, string>,
  fields: { name: string; scopes: string[]; client_id?: string },
): Promise<Credentials> {
  const r = await unary<{ client: { client_id: string }; client_secret: string }>(replica.clients, "CreateClient", fields, auth);
  return { clientId: r.client.client_id, clientSecret: r.client_secret };
}

/**
 * Asks `probe` every 20 ms until it returns true; resolves with how long after `since`
 * (ms, performance.now()) the first probe that saw it was sent.
 */
export async function timeUntil(probe: () => Promise<boolean>, since: number): Promise<number> {
  let sent = 0;
  await eventually(
    "the change at the other replica",
    async () => {
      sent = performance.now();
      return probe();
    },
    { intervalMs: 20 },
  );
  return Math.round(sent - since);
}
