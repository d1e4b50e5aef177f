import type { ClientRecord } from "../ports/storage.js";
import type { SecretUseTracker } from "../secret-use.js";

/**
 * The credentials each client authentication method presents, by the method's name in the
 * OAuth Token Endpoint Authentication Methods registry. Each method's file adds its own entry
 * (TypeScript declaration merging), so a new method is one new file.
 */
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

/**
 * One client authentication method: how a request presents it and how it is checked. The
 * transports read every registered method the same way (client-authenticators.ts), so a new
 * method needs no change to any door.
 */
export interface ClientAuthenticator {
  /** Its name in the OAuth registry, as the metadata document lists it. */
  readonly name: ClientAuthMethod;
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
   * Whether `credentials` prove `client` (undefined: unknown or disabled, refused after the
   * same work as a wrong proof, so timing tells nothing). Notes the use of a secret.
   */
  verify(client: ClientRecord | undefined, credentials: ClientCredentials, now: number, secretUse: SecretUseTracker): boolean;
}
