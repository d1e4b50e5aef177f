import type { Storage } from "../core/ports/storage.js";

/** What GET /readyz answers: each check "ok" or what is wrong, and which ones failed. */
export interface ReadinessReport {
  status: "ready" | "not_ready";
  /** The names of the checks that are not "ok"; absent when ready. */
  failed?: string[];
  checks: { storage: string; signing_key: string; shutdown: string };
}

/** What readiness looks at, passed in by the composition root. */
export interface ReadinessDeps {
  /** Read from the database on every check (never a cache), so a lost database shows. */
  storage: Pick<Storage, "listSigningKeys">;
  /** The key new tokens are signed with and the published keys. */
  keys: { readonly current: { kid: string }; readonly jwks: { keys: { kid?: string }[] } };
  /** True once a graceful shutdown has begun. */
  draining: () => boolean;
  /** Told when readiness changes, with the report (the cause of a storage failure as `err`). */
  onChange: (report: ReadinessReport, err?: unknown) => void;
}

/**
 * Readiness for orchestrators (GET /readyz): the database answers a read, a signing key is
 * loaded and published, and the process is not shutting down. Liveness (GET /healthz) is
 * only that the process answers, so a database outage makes Tessera unready, never restarted.
 */
export class Readiness {
  #last: ReadinessReport["status"] = "ready";

  constructor(private readonly deps: ReadinessDeps) {}

  /** Runs every check now. */
  async check(): Promise<ReadinessReport> {
    let storageError: unknown;
    let storage = "ok";
    try {
      await this.deps.storage.listSigningKeys();
    } catch (err) {
      storageError = err;
      storage = "the database cannot be read";
    }
    const checks = { storage, signing_key: this.#signingKey(), shutdown: this.deps.draining() ? "draining" : "ok" };
    const failed = Object.entries(checks)
      .filter(([, v]) => v !== "ok")
      .map(([k]) => k);
    const report: ReadinessReport = failed.length === 0 ? { status: "ready", checks } : { status: "not_ready", failed, checks };
    if (report.status !== this.#last) {
      this.#last = report.status;
      this.deps.onChange(report, storageError);
    }
    return report;
  }

  #signingKey(): string {
    let kid: string;
    try {
      kid = this.deps.keys.current.kid;
    } catch {
      return "no signing key is loaded";
    }
    return this.deps.keys.jwks.keys.some((k) => k.kid === kid) ? "ok" : "the signing key is not in the published key set";
  }
}
