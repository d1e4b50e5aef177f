import { createHash } from "node:crypto";
import { type AuditEvent, type ClientRecord, type SigningKeyRecord, STORE_RECORD_KINDS, type StoreRecord } from "../core/ports/storage.js";

/** Records per batch of exportRecords(): bounds memory whatever the store's size. */
export const EXPORT_BATCH = 500;

/** Compares two keys by their UTF-8 bytes, the order every adapter exports in (SQLite's BINARY, PostgreSQL's "C"). */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Splits `records` into batches of at most EXPORT_BATCH. */
export function* inBatches<T>(records: readonly T[]): Generator<T[]> {
  for (let i = 0; i < records.length; i += EXPORT_BATCH) yield records.slice(i, i + EXPORT_BATCH);
}

/** A tombstone row as the SQL adapters store it. */
export interface TombstoneRow {
  client_id: string;
  tokens_not_before: number;
  expire_time: number;
}

/** A deny-list row as the SQL adapters store it. */
export interface RevokedRow {
  jti: string;
  client_id: string;
  expire_time: number;
}

/**
 * How a SQL adapter reads its tables for export, inside the snapshot it holds: the small ones
 * whole, the others a page of at most EXPORT_BATCH rows after a key, in byte order.
 */
export interface ExportReads {
  meta(): Promise<Array<{ key: string; value: string }>> | Array<{ key: string; value: string }>;
  keys(): Promise<SigningKeyRecord[]> | SigningKeyRecord[];
  clients(after: string): Promise<ClientRecord[]> | ClientRecord[];
  tombstones(after: string): Promise<TombstoneRow[]> | TombstoneRow[];
  revoked(after: string): Promise<RevokedRow[]> | RevokedRow[];
  auditEvents(after: number): Promise<Array<AuditEvent & { eventId: number }>> | Array<AuditEvent & { eventId: number }>;
}

/** Every record `read` reaches, as exportRecords() yields them: kind after kind, in batches. */
export async function* exportBatches(read: ExportReads): AsyncGenerator<StoreRecord[]> {
  yield* inBatches((await read.meta()).map((r): StoreRecord => ({ kind: "meta", key: r.key, value: r.value })));
  yield* inBatches((await read.keys()).map((key): StoreRecord => ({ kind: "signing_key", key })));
  yield* pages(
    read.clients,
    "",
    (c) => c.clientId,
    (client) => ({ kind: "client", client }),
  );
  yield* pages(
    read.tombstones,
    "",
    (r) => r.client_id,
    (r) => ({
      kind: "client_tombstone",
      clientId: r.client_id,
      tombstone: { tokensNotBefore: r.tokens_not_before, expireTime: r.expire_time },
    }),
  );
  yield* pages(
    read.revoked,
    "",
    (r) => r.jti,
    (r) => ({ kind: "revoked_token", jti: r.jti, clientId: r.client_id, expireTime: r.expire_time }),
  );
  yield* pages(
    read.auditEvents,
    0,
    (e) => e.eventId,
    (event) => ({ kind: "audit_event", event }),
  );
}

/** Yields `read`'s pages (each after the last key of the one before) as batches of records, until one comes back empty. */
async function* pages<R, K>(
  read: (after: K) => Promise<R[]> | R[],
  first: K,
  keyOf: (row: R) => K,
  toRecord: (row: R) => StoreRecord,
): AsyncGenerator<StoreRecord[]> {
  for (let after = first; ; ) {
    const rows = await read(after);
    const last = rows.at(-1);
    if (last === undefined) return;
    yield rows.map(toRecord);
    after = keyOf(last);
  }
}

/** How many records of one kind a store holds, and a SHA-256 of their content in export order. */
interface KindDigest {
  count: number;
  sha256: string;
}

/** Per kind of record: its count and content digest. Two stores holding the same records have equal digests. */
export type StoreDigest = Record<StoreRecord["kind"], KindDigest>;

/**
 * Computes a StoreDigest while passing the batches on unchanged: `digesting(source)` is fed to
 * an import, and `digest()` read once the import has consumed it. The content is each record
 * as canonical JSON (keys sorted, hashes as hex), so adapters that return a Buffer or a
 * Uint8Array, or an object with its keys in another order, digest alike.
 */
export function digesting(batches: AsyncIterable<readonly StoreRecord[]>): {
  batches: AsyncIterable<readonly StoreRecord[]>;
  digest(): StoreDigest;
} {
  const hashes = new Map<StoreRecord["kind"], { count: number; hash: ReturnType<typeof createHash> }>(
    STORE_RECORD_KINDS.map((k) => [k, { count: 0, hash: createHash("sha256") }]),
  );
  async function* pass(): AsyncIterable<readonly StoreRecord[]> {
    for await (const batch of batches) {
      for (const r of batch) {
        const h = hashes.get(r.kind);
        if (!h) throw new Error(`unknown record kind ${JSON.stringify(r.kind)}`);
        h.count++;
        h.hash.update(canonicalJson(r)).update("\n");
      }
      yield batch;
    }
  }
  return {
    batches: pass(),
    digest() {
      const out: Partial<StoreDigest> = {};
      for (const [kind, h] of hashes) out[kind] = { count: h.count, sha256: h.hash.copy().digest("hex") };
      return out as StoreDigest;
    },
  };
}

/** The digest of everything `batches` holds. */
export async function digestOf(batches: AsyncIterable<readonly StoreRecord[]>): Promise<StoreDigest> {
  const d = digesting(batches);
  for await (const _ of d.batches);
  return d.digest();
}

/** JSON with object keys sorted and byte arrays as hex: one text per value, whatever produced it. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return { hex: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => byteOrder(a, b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}
