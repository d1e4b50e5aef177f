import type { ClientRecord, Storage } from "../ports/storage.js";
import type { SecretUseTracker } from "../secret-use.js";
import type { AssertionDeps } from "./assertion-deps.js";

/**
 * The credentials each client authentication method presents, by the method's name in the
 * OAuth Token Endpoint Authentication Methods registry. Each method's file adds its own entry
 * (TypeScript declaration merging), so a new method is one new file. Exported for that
 * merging, which knip does not see as a use.
 *
 * @public
 */
// biome-ignore lint/suspicious/noEmptyInterface: each method file adds its member by declaration merging
export interface CredentialsByMethod {}

/** How the client presented its credentials (RFC 6749 §2.3; OAuth registry names). */
export type ClientAuthMethod = keyof CredentialsByMethod & string;

/** Credentials as presented, already decoded by the method that read them. */
export type ClientCredentials = CredentialsByMethod[ClientAuthMethod];

/**
 * Reads one request parameter by its OAuth name, whichever door the request came through;
 * undefined when absent or empty (RFC 6749 §3.2: an empty parameter counts as omitted).
 */
export type ParamReader<S> = (source: S, name: string) => string | undefined;

/** What a method's checks may use besides the client and its credentials. */
export interface VerifyContext {
  now: number;
  /** The replay store of assertion jti (storage; a dry run passes one that records nothing). */
  replay: Pick<Storage, "recordAssertionJti">;
  secretUse: SecretUseTracker;
  /** What checking client assertions needs; undefined where the server accepts none. */
  assertions: AssertionDeps | undefined;
  /** The caller's address (for the audit trail of federated tokens). */
  origin: string | undefined;
}

/**
 * One client authentication method: how a request presents it and how it is checked. The
 * transports read every registered method the same way (client-authenticators.ts), so a new
 * method needs no change to any door.
 */
export interface ClientAuthenticator {
  /** Its name in the OAuth registry, as the metadata document lists it. */
  readonly name: ClientAuthMethod;
  /** Further names its credentials may carry (logs and metrics tell them apart); the metadata lists only `name`. */
  readonly aliases?: readonly ClientAuthMethod[];
  /** The request parameters it reads (never accepted in a query string). */
  readonly params: readonly string[];
  /** The Authorization scheme it reads, if any: a failure then answers 401 with a WWW-Authenticate for it (RFC 6749 §5.2). */
  readonly scheme: string | undefined;
  /** How messages name what it presents ("the Basic credentials"). */
  readonly noun: string;
  /**
   * This method's credentials in a request, or undefined when the request does not use it.
   * Malformed credentials are refused with invalid_request.
   */
  read<S>(authorization: string | undefined, source: S, param: ParamReader<S>): ClientCredentials | undefined;
  /**
   * Checks that need no client (an assertion's algorithm and times), made before the client is
   * read; a failure throws invalid_client saying which check failed.
   */
  precheck?(credentials: ClientCredentials, ctx: VerifyContext): void;
  /**
   * Whether `credentials` prove `client` (undefined: unknown or disabled, refused after the
   * same work as a wrong proof, so timing tells nothing). Notes the use of a secret. A method
   * whose refusals say what failed throws invalid_client with the reason instead of false.
   * Synchronous where it can be: the secret methods cost no extra await on the token path.
   */
  verify(client: ClientRecord | undefined, credentials: ClientCredentials, ctx: VerifyContext): boolean | Promise<boolean>;
}
