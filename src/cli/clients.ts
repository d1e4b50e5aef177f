import { create, toJson } from "@bufbuild/protobuf";
import { FieldMaskSchema, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, ClientSchema } from "../../gen/tessera/v1/client_admin_pb.js";
import { adminClient } from "./admin-client.js";
import { confirm, requireTerminal } from "./confirm.js";
import { formatTable } from "./table.js";

/** Options every `tessera clients` command takes. */
export interface ClientsOptions {
  server: string;
  json?: boolean;
}

/** What `clients create` and `clients update` may set. */
export interface ClientFields {
  name?: string;
  scope?: string;
  audience?: string[];
  /** Token lifetime in seconds. */
  ttl?: number;
  authMethod?: string;
}

/** The client was not deleted because the person said no; exit 1. */
export class NotConfirmedError extends Error {
  override readonly name = "NotConfirmedError";
}

/** The client an answer carries: ClientAdmin always sends one, so a missing one is the server's fault, said plainly. */
function answered(client: Client | undefined): Client {
  if (!client) throw new Error("the server's answer carries no client");
  return client;
}

/** `tessera clients create`. */
export async function createClientCommand(
  o: ClientsOptions & ClientFields & { name: string; clientId?: string },
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const admin = await adminClient(o.server, env);
  const res = await admin.createClient({
    clientId: o.clientId ?? "",
    name: o.name,
    scopes: scopes(o.scope) ?? [],
    audiences: o.audience ?? [],
    tokenTtl: ttl(o.ttl),
    authMethod: o.authMethod ?? "",
  });
  print(o, answered(res.client), res.clientSecret);
}

/** `tessera clients get ID`. */
export async function getClientCommand(clientId: string, o: ClientsOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const admin = await adminClient(o.server, env);
  print(o, answered((await admin.getClient({ clientId })).client));
}

/** `tessera clients list`: one page, as a table with a header row or as JSON. */
export async function listClientsCommand(
  o: ClientsOptions & { pageSize?: number; pageToken?: string },
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const admin = await adminClient(o.server, env);
  const res = await admin.listClients({ pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? "" });
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ clients: res.clients.map(clientJson), next_page_token: res.nextPageToken }, null, 2)}\n`);
    return;
  }
  const rows = res.clients.map((c) => [
    c.clientId,
    c.name,
    c.disabled ? "disabled" : "enabled",
    c.scopes.join(" ") || "-",
    c.audiences.join(" ") || "-",
  ]);
  process.stdout.write(formatTable(["CLIENT ID", "NAME", "STATUS", "SCOPES", "AUDIENCES"], rows));
  if (res.nextPageToken) process.stdout.write(`(more: --page-token ${res.nextPageToken})\n`);
}

/** `tessera clients update ID`: changes only the fields given. */
export async function updateClientCommand(
  clientId: string,
  o: ClientsOptions & ClientFields & { disable?: boolean; enable?: boolean; jwksUri?: string },
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const paths: string[] = [];
  if (o.name !== undefined) paths.push("name");
  if (o.scope !== undefined) paths.push("scopes");
  if (o.audience !== undefined) paths.push("audiences");
  if (o.ttl !== undefined) paths.push("token_ttl");
  if (o.disable || o.enable) paths.push("disabled");
  if (o.authMethod !== undefined) paths.push("auth_method");
  if (o.jwksUri !== undefined) paths.push("jwks_uri");
  const admin = await adminClient(o.server, env);
  const res = await admin.updateClient({
    client: {
      clientId,
      name: o.name ?? "",
      scopes: scopes(o.scope) ?? [],
      audiences: o.audience ?? [],
      tokenTtl: ttl(o.ttl),
      disabled: o.disable === true,
      authMethod: o.authMethod ?? "",
      jwksUri: o.jwksUri ?? "",
    },
    updateMask: create(FieldMaskSchema, { paths }),
  });
  print(o, answered(res.client));
}

/** `tessera clients delete ID`: asks first on a terminal unless --yes. */
export async function deleteClientCommand(clientId: string, o: ClientsOptions & { yes?: boolean }, env: NodeJS.ProcessEnv): Promise<void> {
  if (!o.yes) requireTerminal("tessera clients delete");
  const admin = await adminClient(o.server, env);
  if (!o.yes) {
    const { client } = await admin.getClient({ clientId });
    const question = `Delete client ${clientId} (${answered(client).name})? Its secrets stop working, the tokens it holds are cut off, and this cannot be undone.`;
    if (!(await confirm(question))) throw new NotConfirmedError(`Client ${clientId} was not deleted.`);
  }
  await admin.deleteClient({ clientId });
  if (o.json) process.stdout.write(`${JSON.stringify({ deleted: clientId })}\n`);
  else process.stdout.write(`Deleted client ${clientId}; its tokens are cut off.\n`);
}

/** `tessera clients revoke-tokens ID`: cuts off every token the client holds, and says so. */
export async function revokeTokensCommand(clientId: string, o: ClientsOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const admin = await adminClient(o.server, env);
  const c = answered((await admin.revokeClientTokens({ clientId })).client);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(clientJson(c), null, 2)}\n`);
    return;
  }
  const cutoff = c.tokensNotBefore ? timestampDate(c.tokensNotBefore).toISOString() : "now";
  const ttlSeconds = Number(c.tokenTtl?.seconds ?? 0n);
  process.stdout.write(
    `Cut off every token issued to ${c.clientId} (${c.name}) before ${cutoff}: introspection now answers active:false for them and Tessera's admin APIs refuse them.\n` +
      `Resource servers that verify tokens offline against the JWKS accept them until they expire (at most ${ttlSeconds}s, the client's token lifetime).\n` +
      `The client itself keeps working: new tokens are issued as usual.\n`,
  );
}

/** `tessera clients rotate-secret ID`. */
export async function rotateSecretCommand(clientId: string, o: ClientsOptions & { grace?: number }, env: NodeJS.ProcessEnv): Promise<void> {
  const admin = await adminClient(o.server, env);
  const res = await admin.rotateClientSecret({ clientId, gracePeriod: { seconds: BigInt(o.grace ?? 0), nanos: 0 } });
  print(o, answered(res.client), res.clientSecret);
}

function scopes(scope: string | undefined): string[] | undefined {
  return scope === undefined ? undefined : scope.split(" ").filter((s) => s !== "");
}

function ttl(seconds: number | undefined) {
  return seconds === undefined ? undefined : { seconds: BigInt(seconds), nanos: 0 };
}

function print(o: ClientsOptions, c: Client, secret?: string): void {
  if (o.json) {
    // A client without a secret (private_key_jwt, federated) has no client_secret to show.
    const body =
      secret === undefined
        ? clientJson(c)
        : { client_id: c.clientId, ...(secret === "" ? {} : { client_secret: secret }), client: clientJson(c) };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(describe(c, secret));
  }
}

/** The client as proto-JSON with the .proto field names (what scripts expect). */
function clientJson(c: Client): unknown {
  return toJson(ClientSchema, c, { useProtoFieldName: true });
}

function describe(c: Client, secret?: string): string {
  const ttlSeconds = Number(c.tokenTtl?.seconds ?? 0n);
  const lines = [
    `client_id:  ${c.clientId}`,
    `name:       ${c.name}`,
    `status:     ${c.disabled ? "disabled" : "enabled"}`,
    `scopes:     ${c.scopes.join(" ") || "(none)"}`,
    `audiences:  ${c.audiences.join(" ") || "(none: tokens are for the issuer)"}`,
    `token ttl:  ${ttlSeconds}s`,
    `auth:       ${c.authMethod || "client_secret"}${c.jwksUri ? ` (keys at ${c.jwksUri})` : c.keys.length > 0 ? ` (${c.keys.length} registered keys)` : ""}${c.federatedCredentials.length > 0 ? ` (${c.federatedCredentials.length} federated credentials)` : ""}`,
    `secrets:    ${c.secrets.map((s) => s.secretId + (s.expireTime ? ` (expires ${new Date(Number(s.expireTime.seconds) * 1000).toISOString()})` : "")).join(", ") || "(none)"}`,
  ];
  if (secret !== undefined && secret !== "") {
    lines.push(`client_secret: ${secret}`, "", "The secret is shown only this once: store it in your secret manager now.");
  }
  return `${lines.join("\n")}\n`;
}
