import type { Logger } from "pino";
import { OAuthError } from "../core/errors.js";
import { StorageUnavailableError } from "../core/ports/storage.js";
import type { Metrics } from "./metrics.js";

/** One answered request to a token-family endpoint, whichever door it came through. */
export interface TokenRequestEvent {
  /** The door's name as logs and metrics show it ("http", "grpc"): a new door needs no change here. */
  transport: string;
  endpoint: "token" | "revoke" | "introspect";
  /** The client id as presented (it may not exist); never a secret. */
  clientId: string | undefined;
  /** How the request authenticated (client_secret_basic, private_key_jwt, federated, ...), if it did. */
  authMethod?: string | undefined;
  /** A federated workload's external issuer and subject, as its platform token names them. */
  assertionIssuer?: string | undefined;
  assertionSubject?: string | undefined;
  scope: string | undefined;
  origin: string | undefined;
  /** Undefined on success. */
  error: unknown;
  /**
   * The caller went away before it had its answer (reset, closed, or its own deadline passed):
   * logged and counted as outcome "aborted", never as an error of the server.
   */
  aborted?: boolean | undefined;
  durationMs: number;
}

/** The OAuth error code an error is answered with. */
function errorCode(err: unknown): string {
  if (err instanceof OAuthError) return err.code;
  if (err instanceof StorageUnavailableError) return "temporarily_unavailable";
  return "server_error";
}

// Values come from callers; cut them so a 10 KB identifier cannot flood the logs.
const cut = (s: string | undefined) => (s === undefined || s.length <= 128 ? s : `${s.slice(0, 128)}…`);

/**
 * Turns answered requests into one structured log line each and into metrics. It receives
 * only ids, scopes and codes: secrets, tokens and Authorization headers never reach it.
 */
export class RequestObserver {
  readonly #series = new Map<string, { count: { inc(): void }; latency: { observe(v: number): void } }>();
  readonly #byMethod = new Map<string, { inc(): void }>();
  // One child logger per door and endpoint: pino serialises its bindings once, not per line.
  readonly #tokenLogs = new Map<string, Logger>();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics | undefined,
  ) {}

  /** Records a token, revocation or introspection request. */
  tokenRequest(e: TokenRequestEvent): void {
    const error = e.error === undefined || e.aborted ? undefined : errorCode(e.error);
    const outcome = e.aborted ? "aborted" : error === undefined ? "success" : "error";
    if (this.metrics) {
      // Label children are looked up once per combination: prom-client hashes labels otherwise.
      const key = `${e.transport} ${e.endpoint} ${outcome} ${error ?? ""}`;
      let series = this.#series.get(key);
      if (!series) {
        series = {
          count: this.metrics.requests.series(e.transport, e.endpoint, outcome, error ?? ""),
          latency: this.metrics.latency.series(e.transport, e.endpoint),
        };
        this.#series.set(key, series);
      }
      series.count.inc();
      series.latency.observe(e.durationMs / 1000);
      if (e.authMethod !== undefined) {
        const methodKey = `${e.endpoint} ${e.authMethod} ${outcome}`;
        let byMethod = this.#byMethod.get(methodKey);
        if (!byMethod) {
          byMethod = this.metrics.authentications.series(e.endpoint, e.authMethod, outcome);
          this.#byMethod.set(methodKey, byMethod);
        }
        byMethod.inc();
      }
      if (e.error instanceof OAuthError && e.error.limit) this.metrics.rateLimited.inc({ limit: e.error.limit });
    }
    if (this.log.isLevelEnabled("info")) {
      const which = `${e.transport} ${e.endpoint}`;
      let log = this.#tokenLogs.get(which);
      if (!log) {
        log = this.log.child({ transport: e.transport, endpoint: e.endpoint });
        this.#tokenLogs.set(which, log);
      }
      log.info(
        {
          client_id: cut(e.clientId),
          auth_method: e.authMethod,
          assertion_iss: cut(e.assertionIssuer),
          assertion_sub: cut(e.assertionSubject),
          scope: cut(e.scope),
          origin: e.origin,
          outcome,
          error,
          limit: e.error instanceof OAuthError ? e.error.limit : undefined,
          latency_ms: Math.round(e.durationMs * 1000) / 1000,
        },
        "token request",
      );
    }
  }

  /** Records an admin RPC (its change, if any, is logged by the audit trail). */
  adminCall(
    service: string,
    method: string,
    code: string,
    durationMs: number,
    actor: string | undefined,
    origin: string | undefined,
  ): void {
    this.metrics?.adminCalls.inc({ service, method, code });
    this.log.info(
      { transport: "grpc", service, method, code, actor, origin, latency_ms: Math.round(durationMs * 1000) / 1000 },
      "admin call",
    );
  }
}
