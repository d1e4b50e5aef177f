import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AuditEventSchema } from "../../gen/tessera/v1/client_admin_pb.js";
import { adminClient } from "./admin-client.js";
import { formatTable } from "./table.js";

/** Options of `tessera audit`. */
export interface AuditOptions {
  server: string;
  json?: boolean;
  target?: string;
  pageSize?: number;
  pageToken?: string;
}

/** `tessera audit`: the audit trail of administrative changes, newest first. */
export async function auditCommand(o: AuditOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const admin = await adminClient(o.server, env);
  const res = await admin.listAuditEvents({ target: o.target ?? "", pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? "" });
  if (o.json) {
    const events = res.events.map((e) => toJson(AuditEventSchema, e, { useProtoFieldName: true }));
    process.stdout.write(`${JSON.stringify({ events, next_page_token: res.nextPageToken }, null, 2)}\n`);
    return;
  }
  const rows = res.events.map((e) => [
    e.time ? timestampDate(e.time).toISOString() : "-",
    e.actor,
    e.action,
    e.target,
    e.origin,
    JSON.stringify(e.changes ?? {}),
  ]);
  process.stdout.write(formatTable(["TIME", "ACTOR", "ACTION", "TARGET", "FROM", "CHANGES"], rows));
  if (res.nextPageToken) process.stdout.write(`(older: --page-token ${res.nextPageToken})\n`);
}
