import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { ClientSchema, type Client } from "../../gen/tessera/v1/client_admin_pb.js";
import { adminClient, DEFAULT_SERVER } from "./admin-client.js";
import { UsageError } from "./usage.js";

const OPTIONS = {
  server: { type: "string" },
  json: { type: "boolean", default: false },
  name: { type: "string" },
  scope: { type: "string" },
  audience: { type: "string", multiple: true },
  ttl: { type: "string" },
  "client-id": { type: "string" },
  "page-size": { type: "string" },
  "page-token": { type: "string" },
  grace: { type: "string" },
  disable: { type: "boolean" },
  enable: { type: "boolean" },
} as const;

/** `tessera clients <verb>`: ClientAdmin over gRPC. */
export async function clientsCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  const server = values.server ?? env.TESSERA_SERVER ?? DEFAULT_SERVER;
  const id = () => {
    if (positionals.length !== 1) throw new UsageError(`tessera clients ${verb} takes exactly one client id.`);
    return positionals[0]!;
  };
  const scopes = values.scope === undefined ? undefined : values.scope.split(" ").filter((s) => s !== "");
  const ttl = values.ttl === undefined ? undefined : { seconds: BigInt(seconds(values.ttl, "--ttl")), nanos: 0 };
  const print = (c: Client, secret?: string) => {
    if (values.json) {
      const body = secret === undefined ? clientJson(c) : { client_id: c.clientId, client_secret: secret, client: clientJson(c) };
      process.stdout.write(JSON.stringify(body, null, 2) + "\n");
    } else {
      process.stdout.write(describe(c, secret));
    }
  };

  switch (verb) {
    case "create": {
      if (values.name === undefined) throw new UsageError("tessera clients create needs --name.");
      const admin = await adminClient(server, env);
      const res = await admin.createClient({
        clientId: values["client-id"] ?? "",
        name: values.name,
        scopes: scopes ?? [],
        audiences: values.audience ?? [],
        tokenTtl: ttl,
      });
      return print(res.client!, res.clientSecret);
    }
    case "get": {
      const admin = await adminClient(server, env);
      return print((await admin.getClient({ clientId: id() })).client!);
    }
    case "list": {
      const admin = await adminClient(server, env);
      const res = await admin.listClients({
        pageSize: values["page-size"] === undefined ? 0 : seconds(values["page-size"], "--page-size"),
        pageToken: values["page-token"] ?? "",
      });
      if (values.json) {
        process.stdout.write(JSON.stringify({ clients: res.clients.map(clientJson), next_page_token: res.nextPageToken }, null, 2) + "\n");
      } else {
        for (const c of res.clients) {
          process.stdout.write(`${c.clientId}\t${c.name}\t${c.disabled ? "disabled" : "enabled"}\t${c.scopes.join(" ")}\n`);
        }
        if (res.nextPageToken) process.stdout.write(`(more: --page-token ${res.nextPageToken})\n`);
      }
      return;
    }
    case "update": {
      const clientId = id();
      const paths: string[] = [];
      if (values.name !== undefined) paths.push("name");
      if (scopes !== undefined) paths.push("scopes");
      if (values.audience !== undefined) paths.push("audiences");
      if (ttl !== undefined) paths.push("token_ttl");
      if (values.disable && values.enable) throw new UsageError("Use --disable or --enable, not both.");
      if (values.disable || values.enable) paths.push("disabled");
      if (paths.length === 0) throw new UsageError("tessera clients update needs at least one of --name, --scope, --audience, --ttl, --disable, --enable.");
      const admin = await adminClient(server, env);
      const res = await admin.updateClient({
        client: { clientId, name: values.name ?? "", scopes: scopes ?? [], audiences: values.audience ?? [], tokenTtl: ttl, disabled: values.disable === true },
        updateMask: create(FieldMaskSchema, { paths }),
      });
      return print(res.client!);
    }
    case "delete": {
      const clientId = id();
      const admin = await adminClient(server, env);
      await admin.deleteClient({ clientId });
      if (values.json) process.stdout.write(JSON.stringify({ deleted: clientId }) + "\n");
      else process.stdout.write(`Deleted client ${clientId}\n`);
      return;
    }
    case "revoke-tokens": {
      const admin = await adminClient(server, env);
      return print((await admin.revokeClientTokens({ clientId: id() })).client!);
    }
    case "rotate-secret": {
      const clientId = id();
      const grace = values.grace === undefined ? 0 : seconds(values.grace, "--grace");
      const admin = await adminClient(server, env);
      const res = await admin.rotateClientSecret({ clientId, gracePeriod: { seconds: BigInt(grace), nanos: 0 } });
      return print(res.client!, res.clientSecret);
    }
    default:
      throw new UsageError(`Unknown clients command ${JSON.stringify(verb ?? "")}; use create, get, list, update, delete, rotate-secret or revoke-tokens.`);
  }
}

/** The client as proto-JSON with the .proto field names (what scripts expect). */
function clientJson(c: Client): unknown {
  return toJson(ClientSchema, c, { useProtoFieldName: true });
}

function describe(c: Client, secret?: string): string {
  const ttl = Number(c.tokenTtl?.seconds ?? 0n);
  const lines = [
    `client_id:  ${c.clientId}`,
    `name:       ${c.name}`,
    `status:     ${c.disabled ? "disabled" : "enabled"}`,
    `scopes:     ${c.scopes.join(" ") || "(none)"}`,
    `audiences:  ${c.audiences.join(" ") || "(none: tokens are for the issuer)"}`,
    `token ttl:  ${ttl}s`,
    `secrets:    ${c.secrets.map((s) => s.secretId + (s.expireTime ? " (expires " + new Date(Number(s.expireTime.seconds) * 1000).toISOString() + ")" : "")).join(", ")}`,
  ];
  if (secret !== undefined) {
    lines.push(`client_secret: ${secret}`, "", "The secret is shown only this once: store it in your secret manager now.");
  }
  return lines.join("\n") + "\n";
}

function seconds(raw: string, flag: string): number {
  const m = /^(\d+)s?$/.exec(raw);
  if (!m) throw new UsageError(`${flag} must be a whole number of seconds, e.g. 3600 (got ${JSON.stringify(raw)}).`);
  return Number(m[1]);
}
