import { ClientConfigError, TokenError } from "./errors.js";

/** Supplies the authorization server's issuer identifier: the audience of private_key_jwt assertions. */
export type IssuerSource = (signal: AbortSignal) => Promise<string>;

/** Options for discovering the issuer. */
export interface IssuerDiscoveryOptions {
  /** Tessera's base URL, checked (http or https, no trailing slash). */
  server: string;
  fetch?: typeof fetch | undefined;
  /** How messages name the setting that gives the issuer instead ("the issuer option or TESSERA_ISSUER"). */
  issuerSetting: string;
}

/** An issuer given by the caller. */
export function fixedIssuer(issuer: string): IssuerSource {
  return () => Promise.resolve(issuer);
}

/**
 * The issuer from Tessera's RFC 8414 metadata at `{server}/.well-known/oauth-authorization-server`,
 * fetched at the first token request and kept once it was read. The metadata must name the
 * server it was fetched from as its issuer (RFC 8414 §3.3): a server that answered with
 * another issuer could otherwise get an assertion for that other issuer's audience and
 * present it there, the attack the audience rules of RFC 7523bis close. A Tessera reached at
 * another address than its issuer (an internal URL) is given its issuer explicitly.
 * Failures that can pass (network, 5xx) are TokenErrors the retry loop retries; a wrong
 * answer is a ClientConfigError that says what to set.
 */
export function discoveredIssuer(options: IssuerDiscoveryOptions): IssuerSource {
  const url = `${options.server}/.well-known/oauth-authorization-server`;
  const doFetch = options.fetch ?? fetch;
  let known: string | undefined;
  return async (signal) => {
    if (known !== undefined) return known;
    let res: Response;
    let body: unknown;
    try {
      // A redirect is not followed: the metadata must come from the server itself.
      res = await doFetch(url, { headers: { accept: "application/json" }, redirect: "manual", signal });
      body = await res.json().catch(() => undefined);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const cause = (err as Error).cause as Error | undefined;
      throw new TokenError("network_error", cause?.message ?? (err as Error).message, { target: url, cause: err });
    }
    if (res.status >= 500 || res.status === 429) {
      throw new TokenError(res.status === 503 || res.status === 429 ? "temporarily_unavailable" : "server_error", `HTTP ${res.status}`, {
        target: url,
        status: res.status,
      });
    }
    const instead = `set ${options.issuerSetting} to Tessera's issuer`;
    if (res.status !== 200)
      throw new ClientConfigError(`No authorization server metadata at ${url} (HTTP ${res.status}) to learn the issuer from; ${instead}.`);
    const issuer = (body as { issuer?: unknown } | undefined)?.issuer;
    if (typeof issuer !== "string" || issuer === "") throw new ClientConfigError(`The metadata at ${url} names no issuer; ${instead}.`);
    if (issuer.replace(/\/+$/, "") !== options.server) {
      throw new ClientConfigError(
        `The server at ${options.server} says its issuer is ${JSON.stringify(issuer)}, another address: a signed assertion is only made for an issuer reached at its own address or configured explicitly. If that is Tessera's issuer, ${instead}.`,
      );
    }
    known = issuer;
    return issuer;
  };
}
