import type { AuditEvent, FederatedCredential, Storage } from "./ports/storage.js";

/** The audit action of tokens issued to a federated workload. */
const FEDERATED_TOKEN_ACTION = "client.federated_token";

interface Uses {
  clientId: string;
  origin: string;
  rule: FederatedCredential;
  count: number;
  first: number;
  last: number;
}

/**
 * Collects the tokens issued to federated workloads and writes them to the audit trail in
 * batches: one event per client and federated credential per flush, naming the external
 * issuer and subject and how many tokens. Issuing never waits on an audit write, and a
 * workload that fetches tokens in a loop adds one row per flush, not one per token.
 */
export class FederatedUseTracker {
  readonly #pending = new Map<string, Uses>();

  /** Notes that `rule` authenticated `clientId` at `now`, for a request from `origin`. */
  mark(clientId: string, rule: FederatedCredential, now: number, origin: string | undefined): void {
    const key = `${clientId} ${rule.credentialId}`;
    const uses = this.#pending.get(key);
    if (uses) {
      uses.count++;
      uses.last = now;
      uses.origin = origin ?? uses.origin;
    } else {
      this.#pending.set(key, { clientId, origin: origin ?? "unknown", rule, count: 1, first: now, last: now });
    }
  }

  /** Writes what was noted since the last flush. */
  async flush(storage: Storage): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    try {
      await storage.recordAuditEvents(batch.map(toEvent));
    } catch (err) {
      // Kept for the next flush, merged with what arrived meanwhile.
      for (const u of batch) {
        const key = `${u.clientId} ${u.rule.credentialId}`;
        const newer = this.#pending.get(key);
        this.#pending.set(key, newer ? { ...u, count: u.count + newer.count, last: newer.last } : u);
      }
      throw err;
    }
  }
}

function toEvent(u: Uses): AuditEvent {
  return {
    time: u.last,
    actor: u.clientId,
    action: FEDERATED_TOKEN_ACTION,
    target: u.clientId,
    changes: {
      credential_id: u.rule.credentialId,
      issuer: u.rule.issuer,
      subject: u.rule.subject,
      tokens: u.count,
      first_time: new Date(u.first).toISOString(),
      last_time: new Date(u.last).toISOString(),
    },
    // The address of the last request in the batch.
    origin: u.origin,
  };
}
