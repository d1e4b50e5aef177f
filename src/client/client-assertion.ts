import { inspect } from "node:util";

const REDACTED = "[redacted]";

/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** What proves the client in a ClientAssertion: a JWT it signed with its key, or a token its platform issued. */
export type AssertionKind = "private_key_jwt" | "platform_token";

/**
 * A client id and a signed JWT that proves it (RFC 7521 §4.2, RFC 7523 §2.2), for one token
 * request. The JWT lives in a private field: logging, JSON.stringify or util.inspect of this
 * object shows `[redacted]` instead.
 */
export class ClientAssertion {
  readonly #assertion: string;

  constructor(
    readonly clientId: string,
    assertion: string,
    readonly kind: AssertionKind,
    /** Where the id and the key or token came from, e.g. "CLIENT_ID and the private key in CLIENT_KEY_FILE (/run/key.jwk)"; named in invalid_client errors. */
    readonly source?: string,
  ) {
    this.#assertion = assertion;
  }

  /** The JWT itself, for the one place that puts it on the wire. */
  revealAssertion(): string {
    return this.#assertion;
  }

  /** `text` with the assertion, and its signature alone, replaced: for text that came from elsewhere. */
  redact(text: string): string {
    let out = text.split(this.#assertion).join(REDACTED);
    const signature = this.#assertion.split(".")[2];
    if (signature !== undefined && signature.length >= 16) out = out.split(signature).join(REDACTED);
    return out;
  }

  /** What JSON.stringify shows. */
  toJSON(): { clientId: string; clientAssertion: string } {
    return { clientId: this.clientId, clientAssertion: REDACTED };
  }

  /** What string interpolation shows. */
  toString(): string {
    return `ClientAssertion(${this.clientId}, ${this.kind})`;
  }

  /** What console.log and util.inspect show. */
  [inspect.custom](): string {
    return this.toString();
  }
}
