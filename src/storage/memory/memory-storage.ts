import {
  type AuditEvent,
  ClientExistsError,
  type ClientPatch,
  type ClientRecord,
  type ClientTombstone,
  type SecretRecord,
  type SigningKeyPlan,
  type SigningKeyRecord,
  type Storage,
  StoreNotEmptyError,
  type StoreRecord,
} from "../../core/ports/storage.js";
import { applyClientPatch } from "../client-patch.js";
import { byteOrder, inBatches } from "../store-records.js";

/** An in-process Storage for tests and throw-away runs; passes the same conformance suite. */
export class MemoryStorage implements Storage {
  readonly #clients = new Map<string, ClientRecord>();
  readonly #keys: SigningKeyRecord[] = [];
  readonly #meta = new Map<string, string>();
  readonly #revoked = new Map<string, { clientId: string; expireTime: number }>();
  readonly #audit: (AuditEvent & { eventId: number })[] = [];
  readonly #tombstones = new Map<string, ClientTombstone>();
  /** Replay store: "clientId jti" -> expiry (ms). */
  readonly #jtis = new Map<string, number>();

  #record(e: AuditEvent | undefined): void {
    // After the highest id, not the count: imported trails may have gaps.
    if (e) this.#audit.push({ ...structuredClone(e), eventId: (this.#audit.at(-1)?.eventId ?? 0) + 1 });
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const c = this.#clients.get(clientId);
    return c && structuredClone(c);
  }

  async createClient(client: ClientRecord, audit?: AuditEvent): Promise<ClientRecord> {
    if (this.#clients.has(client.clientId)) {
      throw new ClientExistsError(`client ${JSON.stringify(client.clientId)} already exists`);
    }
    const stored = sortSecrets(structuredClone(client));
    const stone = this.#tombstones.get(client.clientId);
    if (stone) {
      stored.tokensNotBefore = Math.max(stored.tokensNotBefore ?? 0, stone.tokensNotBefore);
      this.#tombstones.delete(client.clientId);
    }
    this.#clients.set(client.clientId, stored);
    this.#record(audit);
    return structuredClone(stored);
  }

  async updateClient(clientId: string, patch: ClientPatch, now: number, audit?: AuditEvent): Promise<ClientRecord | undefined> {
    const cur = this.#clients.get(clientId);
    if (!cur) return undefined;
    // Computed before anything is written: a patch refused for a conflict changes nothing.
    const next = structuredClone(applyClientPatch(cur, patch, now));
    this.#clients.set(clientId, next);
    this.#record(audit);
    return structuredClone(next);
  }

  async deleteClient(clientId: string, audit?: AuditEvent, tombstone?: ClientTombstone): Promise<boolean> {
    const gone = this.#clients.delete(clientId);
    if (gone) {
      if (tombstone) {
        const old = this.#tombstones.get(clientId);
        this.#tombstones.set(clientId, {
          tokensNotBefore: Math.max(old?.tokensNotBefore ?? 0, tombstone.tokensNotBefore),
          expireTime: Math.max(old?.expireTime ?? 0, tombstone.expireTime),
        });
      }
      this.#record(audit);
    }
    return gone;
  }

  async listAuditEvents(beforeId: number | undefined, limit: number, target?: string): Promise<AuditEvent[]> {
    return structuredClone(
      this.#audit
        .filter((e) => e.eventId < (beforeId ?? Number.MAX_SAFE_INTEGER) && (target === undefined || e.target === target))
        .reverse()
        .slice(0, limit),
    );
  }

  async counts(): Promise<{ clients: number; revokedTokens: number }> {
    return { clients: this.#clients.size, revokedTokens: this.#revoked.size };
  }

  async listClients(afterId: string, limit: number): Promise<ClientRecord[]> {
    return [...this.#clients.values()]
      .filter((c) => c.clientId > afterId)
      .sort((a, b) => (a.clientId < b.clientId ? -1 : 1))
      .slice(0, limit)
      .map((c) => structuredClone(c));
  }

  async rotateSecret(
    clientId: string,
    secret: SecretRecord,
    othersExpireAt: number,
    now: number,
    audit?: AuditEvent,
  ): Promise<ClientRecord | undefined> {
    const cur = this.#clients.get(clientId);
    if (!cur) return undefined;
    this.#record(audit);
    for (const s of cur.secrets) {
      if (s.expireTime === null || s.expireTime > othersExpireAt) s.expireTime = othersExpireAt;
    }
    cur.secrets = cur.secrets.filter((s) => s.expireTime === null || s.expireTime > now);
    cur.secrets.push(structuredClone(secret));
    sortSecrets(cur);
    cur.updateTime = now;
    return structuredClone(cur);
  }

  async recordSecretUse(uses: ReadonlyMap<string, number>): Promise<void> {
    for (const c of this.#clients.values()) {
      for (const s of c.secrets) {
        const t = uses.get(s.secretId);
        if (t !== undefined && (s.lastUsedTime === null || s.lastUsedTime < t)) s.lastUsedTime = t;
      }
    }
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return structuredClone([...this.#keys].sort((a, b) => b.createTime - a.createTime || a.kid.localeCompare(b.kid)));
  }

  async updateSigningKeys<T>(
    decide: (keys: SigningKeyRecord[]) => SigningKeyPlan<T>,
    audit?: (result: T) => AuditEvent | undefined,
  ): Promise<T> {
    // Decide on a snapshot taken synchronously, so concurrent calls apply one after another.
    const plan = decide(structuredClone([...this.#keys].sort((a, b) => b.createTime - a.createTime || a.kid.localeCompare(b.kid))));
    const next = this.#keys.filter((k) => !plan.remove.includes(k.kid) && !plan.upsert.some((u) => u.kid === k.kid));
    next.push(...structuredClone(plan.upsert));
    for (const status of ["current", "next"] as const) {
      if (next.filter((k) => k.status === status).length > 1) throw new Error(`more than one ${status} signing key`);
    }
    this.#keys.splice(0, this.#keys.length, ...next);
    this.#record(audit?.(plan.result));
    return plan.result;
  }

  async revokeToken(jti: string, clientId: string, expireTime: number): Promise<void> {
    if (!this.#revoked.has(jti)) this.#revoked.set(jti, { clientId, expireTime });
  }

  async isTokenRevoked(jti: string): Promise<boolean> {
    return this.#revoked.has(jti);
  }

  async pruneRevokedTokens(before: number): Promise<number> {
    for (const [id, stone] of this.#tombstones) if (stone.expireTime < before) this.#tombstones.delete(id);
    let n = 0;
    for (const [jti, { expireTime }] of this.#revoked) {
      if (expireTime < before) {
        this.#revoked.delete(jti);
        n++;
      }
    }
    return n;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#meta.get(key);
  }

  async setMeta(key: string, value: string, overwrite: boolean): Promise<boolean> {
    if (!overwrite && this.#meta.has(key)) return false;
    this.#meta.set(key, value);
    return true;
  }

  async purgeDeletedData(): Promise<void> {
    // Nothing is kept once deleted: the objects are gone with their last reference.
  }

  async changeToken(): Promise<number> {
    // Nothing outside this process can change an in-memory store.
    return 0;
  }

  async close(): Promise<void> {}

  async recordAssertionJti(clientId: string, jti: string, expireTime: number, now: number): Promise<boolean> {
    // Client ids hold no spaces (client-admin.ts), so the first space separates the two parts.
    const key = `${clientId} ${jti}`;
    const until = this.#jtis.get(key);
    if (until !== undefined && until >= now) return false;
    this.#jtis.set(key, expireTime);
    return true;
  }

  async pruneAssertionJtis(before: number): Promise<number> {
    let n = 0;
    for (const [key, until] of this.#jtis) {
      if (until < before) {
        this.#jtis.delete(key);
        n++;
      }
    }
    return n;
  }

  async recordAuditEvents(events: readonly AuditEvent[]): Promise<void> {
    for (const e of events) this.#record(e);
  }

  subscribeChanges(): () => void {
    // Nothing outside this process can change an in-memory store: there is nothing to hear of.
    return () => {};
  }

  async *exportRecords(): AsyncIterable<StoreRecord[]> {
    // Copied at once, before the first batch goes out: one snapshot, whatever happens meanwhile.
    const sorted = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => byteOrder(a, b));
    const records: StoreRecord[] = [
      ...sorted(this.#meta).map(([key, value]): StoreRecord => ({ kind: "meta", key, value })),
      ...[...this.#keys]
        .sort((a, b) => byteOrder(a.kid, b.kid))
        .map((k): StoreRecord => ({ kind: "signing_key", key: structuredClone(k) })),
      ...sorted(this.#clients).map(([, c]): StoreRecord => ({ kind: "client", client: structuredClone(c) })),
      ...sorted(this.#tombstones).map(([clientId, t]): StoreRecord => ({ kind: "client_tombstone", clientId, tombstone: { ...t } })),
      ...sorted(this.#revoked).map(
        ([jti, r]): StoreRecord => ({ kind: "revoked_token", jti, clientId: r.clientId, expireTime: r.expireTime }),
      ),
      ...this.#audit.map((e): StoreRecord => ({ kind: "audit_event", event: structuredClone(e) })),
    ];
    yield* inBatches(records);
  }

  async importRecords(batches: AsyncIterable<readonly StoreRecord[]>, options: { replace: boolean }): Promise<void> {
    const found = {
      meta: this.#meta.size,
      signing_key: this.#keys.length,
      client: this.#clients.size,
      client_tombstone: this.#tombstones.size,
      revoked_token: this.#revoked.size,
      audit_event: this.#audit.length,
    };
    if (!options.replace && Object.values(found).some((n) => n > 0)) {
      throw new StoreNotEmptyError(Object.fromEntries(Object.entries(found).filter(([, n]) => n > 0)));
    }
    // All read before anything changes: an import that fails midway leaves the store as it was.
    const all: StoreRecord[] = [];
    for await (const batch of batches) all.push(...structuredClone(batch));
    this.#meta.clear();
    this.#keys.length = 0;
    this.#clients.clear();
    this.#tombstones.clear();
    this.#revoked.clear();
    this.#audit.length = 0;
    for (const r of all) this.#importOne(r);
    this.#audit.sort((a, b) => a.eventId - b.eventId);
  }

  #importOne(r: StoreRecord): void {
    switch (r.kind) {
      case "meta":
        return void this.#meta.set(r.key, r.value);
      case "signing_key":
        return void this.#keys.push(r.key);
      case "client":
        return void this.#clients.set(r.client.clientId, sortSecrets(r.client));
      case "client_tombstone":
        return void this.#tombstones.set(r.clientId, r.tombstone);
      case "revoked_token":
        return void this.#revoked.set(r.jti, { clientId: r.clientId, expireTime: r.expireTime });
      case "audit_event":
        return void this.#audit.push(r.event);
    }
  }
}

function sortSecrets(c: ClientRecord): ClientRecord {
  c.secrets.sort((a, b) => b.createTime - a.createTime || a.secretId.localeCompare(b.secretId));
  return c;
}
