import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AuditEventSchema } from "../../gen/tessera/v1/client_admin_pb.js";
import { adminClient, DEFAULT_SERVER } from "./admin-client.js";

/** `tessera audit`: the audit trail of administrative changes, newest first. */
export async function auditCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: "string" },
      json: { type: "boolean", default: false },
      target: { type: "string" },
      "page-size": { type: "string" },
      "page-token": { type: "string" },
    },
    strict: true,
  });
  const admin = await adminClient(values.server ?? env.TESSERA_SERVER ?? DEFAULT_SERVER, env);
  const res = await admin.listAuditEvents({
    target: values.target ?? "",
    pageSize: Number(values["page-size"] ?? 0),
    pageToken: values["page-token"] ?? "",
  });
  if (values.json) {
    const events = res.events.map((e) => toJson(AuditEventSchema, e, { useProtoFieldName: true }));
    process.stdout.write(JSON.stringify({ events, next_page_token: res.nextPageToken }, null, 2) + "\n");
    return;
  }
  for (const e of res.events) {
    const when = e.time ? timestampDate(e.time).toISOString() : "-";
    process.stdout.write(`${when}\t${e.actor}\t${e.action}\t${e.target}\t${JSON.stringify(e.changes ?? {})}\tfrom ${e.origin}\n`);
  }
  if (res.nextPageToken) process.stdout.write(`(older: --page-token ${res.nextPageToken})\n`);
}
