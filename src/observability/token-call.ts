import type { ClientCredentials } from "../core/token-request.js";
import type { RequestObserver, TokenRequestEvent } from "./request-observer.js";

/** Which door a token-family request came through. */
export type TokenDoor = TokenRequestEvent["transport"];
/** Which token-family endpoint it asked. */
export type TokenEndpoint = TokenRequestEvent["endpoint"];

/**
 * One token, revocation or introspection request, from its arrival to its answer: the one
 * place that times it and reports it (a log line and metrics), whichever door it came through.
 * It is itself the event the observer receives, so reporting costs no extra object on the
 * token path.
 */
export class TokenCall implements TokenRequestEvent {
  clientId: string | undefined = undefined;
  scope: string | undefined = undefined;
  authMethod: string | undefined = undefined;
  assertionIssuer: string | undefined = undefined;
  assertionSubject: string | undefined = undefined;
  error: unknown = undefined;
  aborted = false;
  durationMs = 0;
  readonly #started = performance.now();
  readonly #observer: RequestObserver;

  constructor(
    observer: RequestObserver,
    readonly transport: TokenDoor,
    readonly endpoint: TokenEndpoint,
    readonly origin: string | undefined,
  ) {
    this.#observer = observer;
  }

  /**
   * Notes who the request says it is, how it authenticates and the scope it asks for, for the
   * log line; for a workload's platform token, the external issuer and subject it names.
   */
  saw(credentials: ClientCredentials | undefined, scope?: string): void {
    this.clientId = credentials?.clientId;
    this.authMethod = credentials?.method;
    this.scope = scope || undefined;
    if (credentials?.method === "federated") {
      const { iss, sub } = credentials.jwt.claims;
      this.assertionIssuer = typeof iss === "string" ? iss : undefined;
      this.assertionSubject = typeof sub === "string" ? sub : undefined;
    }
  }

  /**
   * Reports the request once it is answered: `error` undefined is a success; `aborted` means
   * the caller went away first (logged and counted apart, never as a fault of the server).
   */
  end(error: unknown, aborted = false): void {
    this.error = aborted ? undefined : error;
    this.aborted = aborted;
    this.durationMs = performance.now() - this.#started;
    this.#observer.tokenRequest(this);
  }
}
