import type { JWK } from "jose";
import type { ClientAssertion } from "./client-assertion.js";
import { parseClientKey } from "./client-key.js";
import { type ClientKeySource, fileClientKey, fixedClientKey } from "./client-key-source.js";
import { type ClientCredentials, resolveCredentials } from "./credentials.js";
import { ClientConfigError } from "./errors.js";
import { discoveredIssuer, fixedIssuer, type IssuerSource } from "./issuer-discovery.js";
import { platformTokenFile } from "./platform-token-file.js";
import { privateKeyJwt } from "./private-key-jwt.js";

/** What proves the client in one token request: an id and secret, or an id and a signed assertion. */
export type ClientAuthentication = ClientCredentials | ClientAssertion;

/** How a client authenticates, as logs name it. */
export type ClientAuthMethod = "client_secret" | "private_key_jwt" | "platform_token";

/** Supplies the client authentication for each token request. */
export interface ClientAuthenticationProvider {
  /** The client id every request presents. */
  readonly clientId: string;
  readonly method: ClientAuthMethod;
  /**
   * The authentication for one try of a request: a secret file is read again, an assertion
   * is signed anew (its own jti), a platform token file is read again. `signal` ends the
   * work it does over the network (discovering the issuer).
   */
  next(signal: AbortSignal): Promise<ClientAuthentication>;
}

/** Options a program may show under its own names (a command line's flags), in messages. */
export type LabelledOption = "server" | "issuer" | "privateKeyFile" | "keyId" | "assertionFile";

/** Where client authentication may come from: the caller's options, then the environment. */
export interface ClientAuthenticationSource {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  privateKey?: string | JWK | undefined;
  privateKeyFile?: string | undefined;
  keyId?: string | undefined;
  assertionFile?: string | undefined;
  issuer?: string | undefined;
  /** Tessera's base URL (checked), where the issuer is discovered when not given. */
  server?: string | undefined;
  fetch?: typeof fetch | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** The clock that dates assertions. */
  now: () => number;
  /** How messages name options; default "the privateKeyFile passed to TokenClient" and the like. */
  optionLabels?: Partial<Record<LabelledOption, string>> | undefined;
}

// Variables that each select a way to authenticate; at most one may be set.
const SECRET_VARS = ["CLIENT_SECRET", "CLIENT_SECRET_FILE", "CLIENT_KEY_FILE", "CLIENT_ASSERTION_FILE"] as const;

/**
 * Resolves how the client authenticates: the caller's clientSecret, privateKey,
 * privateKeyFile or assertionFile (at most one), else exactly one of CLIENT_SECRET,
 * CLIENT_SECRET_FILE, CLIENT_KEY_FILE and CLIENT_ASSERTION_FILE, always with clientId or
 * CLIENT_ID. Files are read now, so a missing one fails here, and again for every request.
 * Throws a ClientConfigError naming what to set when nothing usable is found.
 */
export function resolveClientAuthentication(source: ClientAuthenticationSource): ClientAuthenticationProvider {
  const env = source.env ?? process.env;
  const label = (name: LabelledOption) => source.optionLabels?.[name] ?? `the ${name} passed to TokenClient`;
  const passed = (["clientSecret", "privateKey", "privateKeyFile", "assertionFile"] as const).filter((k) => source[k] !== undefined);
  if (passed.length > 1) throw new ClientConfigError(`Pass only one way to authenticate, not ${passed.join(" and ")}.`);
  const set = passed.length === 0 ? SECRET_VARS.filter((v) => env[v]) : [];
  if (set.length > 1)
    throw new ClientConfigError(`${set.length === 2 ? "Both " : ""}${listed(set)} are ${set.length === 2 ? "" : "all "}set; set only one.`);
  const way = passed[0] ?? set[0];
  if (way === undefined || way === "clientSecret" || way === "CLIENT_SECRET" || way === "CLIENT_SECRET_FILE") {
    if (source.clientId === undefined && !env.CLIENT_ID) throw new ClientConfigError("No client id: pass credentials or set CLIENT_ID.");
    if (way === undefined) {
      throw new ClientConfigError(`No client credentials: pass them, or set ${listed(SECRET_VARS, "or")}.`);
    }
    refuseKeyId(source, env, label);
    const secret = resolveCredentials({ clientId: source.clientId, clientSecret: source.clientSecret, env });
    return { clientId: (source.clientId ?? env.CLIENT_ID)!, method: "client_secret", next: () => Promise.resolve(secret()) };
  }
  const clientId = source.clientId ?? env.CLIENT_ID;
  if (!clientId) throw new ClientConfigError("No client id: pass clientId or set CLIENT_ID.");
  const idPart = source.clientId !== undefined ? "the clientId passed to TokenClient" : "CLIENT_ID";
  if (way === "assertionFile" || way === "CLIENT_ASSERTION_FILE") {
    refuseKeyId(source, env, label);
    const path = source.assertionFile ?? env.CLIENT_ASSERTION_FILE!;
    const where = way === "assertionFile" ? label("assertionFile") : "CLIENT_ASSERTION_FILE";
    const read = platformTokenFile(clientId, path, where, `${idPart} and the platform token in ${where} (${path})`);
    return { clientId, method: "platform_token", next: () => read() };
  }
  const keyId = source.keyId ?? (env.CLIENT_KEY_ID || undefined);
  let key: ClientKeySource;
  let from: string;
  if (way === "privateKey") {
    from = "the privateKey passed to TokenClient";
    key = fixedClientKey(parseClientKey(source.privateKey!, from, keyId));
  } else {
    const path = source.privateKeyFile ?? env.CLIENT_KEY_FILE!;
    const where = way === "privateKeyFile" ? label("privateKeyFile") : "CLIENT_KEY_FILE";
    from = `the private key in ${where} (${path})`;
    key = fileClientKey(path, where, keyId);
  }
  const sign = privateKeyJwt({ clientId, key, issuer: issuerSource(source, env, label), now: source.now, source: `${idPart} and ${from}` });
  return { clientId, method: "private_key_jwt", next: sign };
}

/** The issuer given (the option, else TESSERA_ISSUER), else discovered from the server. */
function issuerSource(source: ClientAuthenticationSource, env: NodeJS.ProcessEnv, label: (name: LabelledOption) => string): IssuerSource {
  const setting = source.optionLabels?.issuer ?? "the issuer option or TESSERA_ISSUER";
  const given = source.issuer ?? (env.TESSERA_ISSUER || undefined);
  if (given !== undefined) {
    const protocol = URL.canParse(given) ? new URL(given).protocol : undefined;
    if (protocol !== "https:" && protocol !== "http:") {
      throw new ClientConfigError(
        `The issuer (${source.issuer !== undefined ? label("issuer") : "TESSERA_ISSUER"}) must be Tessera's issuer URL, such as https://auth.example.com, not ${JSON.stringify(given)}.`,
      );
    }
    return fixedIssuer(given);
  }
  if (source.server === undefined) {
    throw new ClientConfigError(
      `A private key signs assertions for Tessera's issuer: set ${setting}, or give the server to learn it from.`,
    );
  }
  return discoveredIssuer({ server: source.server, fetch: source.fetch, issuerSetting: setting });
}

function refuseKeyId(source: ClientAuthenticationSource, env: NodeJS.ProcessEnv, label: (name: LabelledOption) => string): void {
  if (source.keyId !== undefined) throw new ClientConfigError(`${label("keyId")} names a key, but no private key is given.`);
  if (env.CLIENT_KEY_ID && source.privateKey === undefined && source.privateKeyFile === undefined) {
    throw new ClientConfigError("CLIENT_KEY_ID names a key, but no private key is given (CLIENT_KEY_FILE).");
  }
}

function listed(names: readonly string[], last = "and"): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} ${last} ${names.at(-1)}`;
}
