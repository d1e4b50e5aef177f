import { readFileSync } from "node:fs";
import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type ClientKey,
  ClientKeySchema,
  type FederatedCredential,
  FederatedCredentialSchema,
  TestClientAssertionResponseSchema,
} from "../../gen/tessera/v1/client_admin_pb.js";
import { adminClient } from "./admin-client.js";
import { formatTable } from "./table.js";
import { UsageError } from "./usage.js";

/** Options every command here takes. */
export interface CredentialOptions {
  server: string;
  json?: boolean;
}

/** What `clients federation add` sets. */
export interface FederationFields {
  issuer: string;
  subject: string;
  name?: string;
  jwksUri?: string;
  jwksFile?: string;
  audience?: string;
  /** "claim=value", repeated; the same claim twice means one of its values. */
  condition?: string[];
  /** Seconds. */
  maxAge?: number;
  requireJti?: boolean;
}

/** The assertion would be refused; the verdict was printed, exit 1. */
export class AssertionRefusedError extends Error {
  override readonly name = "AssertionRefusedError";
}

/** `tessera clients keys add ID FILE`: registers the public JWK in FILE ("-": stdin), or each key of a JWKS. */
export async function addKeyCommand(clientId: string, file: string, o: CredentialOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const jwks = publicKeys(readJson(file, "the key file"));
  const admin = await adminClient(o.server, env);
  const added: ClientKey[] = [];
  for (const jwk of jwks) {
    const res = await admin.addClientKey({ clientId, jwk });
    if (res.key) added.push(res.key);
  }
  if (o.json) return void process.stdout.write(`${JSON.stringify({ keys: added.map(keyJson) }, null, 2)}\n`);
  for (const k of added)
    process.stdout.write(`Added key ${k.kid} to client ${clientId}: assertions signed with it authenticate the client.\n`);
}

/** `tessera clients keys list ID`. */
export async function listKeysCommand(clientId: string, o: CredentialOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const { keys } = await (await adminClient(o.server, env)).listClientKeys({ clientId });
  if (o.json) return void process.stdout.write(`${JSON.stringify({ keys: keys.map(keyJson) }, null, 2)}\n`);
  const rows = keys.map((k) => [
    k.kid,
    String(k.jwk?.kty ?? "-"),
    String(k.jwk?.alg ?? "-"),
    k.createTime ? timestampDate(k.createTime).toISOString() : "-",
  ]);
  process.stdout.write(formatTable(["KID", "KTY", "ALG", "ADDED"], rows));
}

/** `tessera clients keys remove ID KID`. */
export async function removeKeyCommand(clientId: string, kid: string, o: CredentialOptions, env: NodeJS.ProcessEnv): Promise<void> {
  await (await adminClient(o.server, env)).removeClientKey({ clientId, kid });
  if (o.json) return void process.stdout.write(`${JSON.stringify({ removed: kid })}\n`);
  process.stdout.write(`Removed key ${kid} from client ${clientId}: assertions signed with it are refused from now on.\n`);
}

/** `tessera clients federation add ID`: a trust rule for a workload's platform token. */
export async function addFederationCommand(
  clientId: string,
  o: CredentialOptions & FederationFields,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (o.jwksUri !== undefined && o.jwksFile !== undefined) throw new UsageError("Give --jwks-uri or --jwks-file, not both.");
  const jwks = o.jwksFile === undefined ? undefined : (readJson(o.jwksFile, "the JWKS file") as JsonObject);
  const admin = await adminClient(o.server, env);
  const { federatedCredential } = await admin.addFederatedCredential({
    clientId,
    federatedCredential: {
      name: o.name ?? "",
      issuer: o.issuer,
      subject: o.subject,
      jwksUri: o.jwksUri ?? "",
      jwks,
      audience: o.audience ?? "",
      conditions: conditions(o.condition ?? []),
      maxTokenAge: o.maxAge === undefined ? undefined : { seconds: BigInt(o.maxAge), nanos: 0 },
      requireJti: o.requireJti === true,
    },
  });
  if (!federatedCredential) throw new Error("the server's answer carries no federated credential");
  if (o.json) return void process.stdout.write(`${JSON.stringify(federationJson(federatedCredential), null, 2)}\n`);
  process.stdout.write(describeRule(federatedCredential));
}

/** `tessera clients federation list ID`. */
export async function listFederationCommand(clientId: string, o: CredentialOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const { federatedCredentials } = await (await adminClient(o.server, env)).listFederatedCredentials({ clientId });
  if (o.json)
    return void process.stdout.write(`${JSON.stringify({ federated_credentials: federatedCredentials.map(federationJson) }, null, 2)}\n`);
  const rows = federatedCredentials.map((f) => [
    f.credentialId,
    f.issuer,
    f.subject,
    keySource(f),
    f.conditions.map((c) => `${c.claim}=${c.values.join("|")}`).join(" ") || "-",
  ]);
  process.stdout.write(formatTable(["ID", "ISSUER", "SUBJECT", "KEYS", "CONDITIONS"], rows));
}

/** `tessera clients federation remove ID CREDENTIAL_ID`. */
export async function removeFederationCommand(
  clientId: string,
  credentialId: string,
  o: CredentialOptions,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  await (await adminClient(o.server, env)).removeFederatedCredential({ clientId, credentialId });
  if (o.json) return void process.stdout.write(`${JSON.stringify({ removed: credentialId })}\n`);
  process.stdout.write(`Removed federated credential ${credentialId} from client ${clientId}: its tokens are refused from now on.\n`);
}

/** `tessera clients test-assertion ID [FILE]`: every check of a token request on a pasted JWT, nothing issued. */
export async function testAssertionCommand(
  clientId: string,
  file: string | undefined,
  o: CredentialOptions,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (file === undefined && process.stdin.isTTY) process.stderr.write("Paste the JWT, then press Enter and Ctrl-D:\n");
  const clientAssertion = readText(file ?? "-", "the assertion").trim();
  if (clientAssertion === "") throw new UsageError("The assertion is empty: paste the JWT on stdin or name a file holding it.");
  const verdict = await (await adminClient(o.server, env)).testClientAssertion({ clientId, clientAssertion });
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify(toJson(TestClientAssertionResponseSchema, verdict, { useProtoFieldName: true, alwaysEmitImplicit: true }), null, 2)}\n`,
    );
  } else {
    process.stdout.write(
      `${[`client:      ${clientId} (${verdict.authMethod || "unknown"})`, `iss:         ${verdict.issuer || "-"}`, `sub:         ${verdict.subject || "-"}`, `result:      ${verdict.accepted ? "accepted" : "refused"}`, `check:       ${verdict.description}`].join("\n")}\n`,
    );
  }
  if (!verdict.accepted) throw new AssertionRefusedError(`a token request with this assertion would be refused: ${verdict.description}`);
}

/** The keys of a JWK or a JWKS ({"keys": [...]}), refusing anything else in one sentence. */
function publicKeys(doc: unknown): JsonObject[] {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new UsageError("The key file must hold a JSON object: a public JWK, or a JWKS with a keys array.");
  const keys = (doc as { keys?: unknown }).keys;
  if (keys === undefined) return [doc as JsonObject];
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== "object" || k === null || Array.isArray(k))) {
    throw new UsageError("The key file's keys must be a non-empty array of JWK objects.");
  }
  return keys as JsonObject[];
}

/** "claim=value" options grouped by claim: the same claim given twice accepts either value. */
function conditions(raw: string[]): { claim: string; values: string[] }[] {
  const byClaim = new Map<string, string[]>();
  for (const r of raw) {
    const at = r.indexOf("=");
    if (at < 1) throw new UsageError(`--condition ${JSON.stringify(r)} must read CLAIM=VALUE, e.g. repository_owner_id=123456.`);
    const claim = r.slice(0, at);
    byClaim.set(claim, [...(byClaim.get(claim) ?? []), r.slice(at + 1)]);
  }
  return [...byClaim].map(([claim, values]) => ({ claim, values }));
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new UsageError(
      `Cannot read ${what} from ${file === "-" ? "stdin" : file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
    );
  }
}

function readJson(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what[0]!.toUpperCase()}${what.slice(1)} (${file === "-" ? "stdin" : file}) is not JSON.`);
  }
}

function keySource(f: FederatedCredential): string {
  if (f.jwks !== undefined) return "static JWKS";
  return f.jwksUri || "OpenID discovery";
}

function describeRule(f: FederatedCredential): string {
  return `${[
    `credential_id: ${f.credentialId}`,
    `issuer:        ${f.issuer}`,
    `subject:       ${f.subject}`,
    `keys:          ${keySource(f)}`,
    `audience:      ${f.audience}`,
    `conditions:    ${f.conditions.map((c) => `${c.claim} is ${c.values.length === 1 ? c.values[0] : `one of ${c.values.join(", ")}`}`).join("; ") || "(none)"}`,
    `max age:       ${Number(f.maxTokenAge?.seconds ?? 0n)}s`,
    `jti:           ${f.requireJti ? "required, each token accepted once" : "not required (platform tokens are reused)"}`,
  ].join("\n")}\n`;
}

function keyJson(k: ClientKey): unknown {
  return toJson(ClientKeySchema, k, { useProtoFieldName: true });
}

function federationJson(f: FederatedCredential): unknown {
  return toJson(FederatedCredentialSchema, f, { useProtoFieldName: true });
}
