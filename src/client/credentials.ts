import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { ClientConfigError } from "./errors.js";

const REDACTED = "[redacted]";

// A secret this long is redacted wherever it appears. A shorter one ("abc") also occurs by
// chance inside ordinary words ("fabcd"), so only an occurrence standing on its own, not
// inside a longer word, is taken for the secret.
const ALWAYS_REDACTED_LENGTH = 16;
const WORD_CHAR = /[\p{L}\p{N}_]/u;

/**
 * A client id and secret. The secret lives in a private field, so logging, JSON.stringify
 * or util.inspect of this object (or of anything holding it) shows `[redacted]` instead.
 */
export class ClientCredentials {
  readonly #secret: string;

  constructor(
    readonly clientId: string,
    clientSecret: string,
    /** Where the id and secret came from, e.g. "CLIENT_ID and CLIENT_SECRET"; named in invalid_client errors. */
    readonly source?: string,
  ) {
    if (!clientId) throw new ClientConfigError("The client id is empty. Set CLIENT_ID.");
    if (!clientSecret) throw new ClientConfigError("The client secret is empty. Set CLIENT_SECRET or CLIENT_SECRET_FILE.");
    this.#secret = clientSecret;
  }

  /** The secret itself, for the one place that puts it on the wire. */
  revealSecret(): string {
    return this.#secret;
  }

  /** `text` with every occurrence of the secret replaced, for text that came from elsewhere. */
  redact(text: string): string {
    const secret = this.#secret;
    if (secret.length >= ALWAYS_REDACTED_LENGTH) return text.split(secret).join(REDACTED);
    const joinsWord = (a: string | undefined, b: string | undefined) =>
      a !== undefined && b !== undefined && WORD_CHAR.test(a) && WORD_CHAR.test(b);
    let out = "";
    let from = 0;
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      if (at < from) continue;
      const end = at + secret.length;
      if (joinsWord(text[at - 1], secret[0]) || joinsWord(secret[secret.length - 1], text[end])) continue;
      out += text.slice(from, at) + REDACTED;
      from = end;
    }
    return out + text.slice(from);
  }

  /** What JSON.stringify shows. */
  toJSON(): { clientId: string; clientSecret: string } {
    return { clientId: this.clientId, clientSecret: REDACTED };
  }

  /** What string interpolation shows. */
  toString(): string {
    return `ClientCredentials(${this.clientId})`;
  }

  /** What console.log and util.inspect show. */
  [inspect.custom](): string {
    return this.toString();
  }
}

/** Supplies credentials for each token request; a function so a rotated secret file is picked up. */
export type CredentialsProvider = () => ClientCredentials;

/** Where credentials may come from: the caller, then the environment. */
export interface CredentialsSource {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * Resolves credentials: the caller's, else CLIENT_ID with CLIENT_SECRET or CLIENT_SECRET_FILE
 * (the file secret managers and Kubernetes mount). The file is re-read for every token
 * request, so rotating the secret (`tessera clients rotate-secret`) needs no restart. Throws a
 * ClientConfigError naming what to set when nothing usable is found.
 */
export function resolveCredentials(source: CredentialsSource = {}): CredentialsProvider {
  const env = source.env ?? process.env;
  const clientId = source.clientId ?? env.CLIENT_ID;
  if (!clientId) throw new ClientConfigError("No client id: pass credentials or set CLIENT_ID.");
  if (source.clientSecret !== undefined) {
    const from =
      source.clientId !== undefined
        ? "the clientId and clientSecret passed to TokenClient"
        : "CLIENT_ID and the clientSecret passed to TokenClient";
    const fixed = new ClientCredentials(clientId, source.clientSecret, from);
    return () => fixed;
  }
  const idPart = source.clientId !== undefined ? "the clientId passed to TokenClient" : "CLIENT_ID";
  const inline = env.CLIENT_SECRET;
  const file = env.CLIENT_SECRET_FILE;
  if (inline && file) throw new ClientConfigError("Both CLIENT_SECRET and CLIENT_SECRET_FILE are set; set only one.");
  if (inline) {
    const fixed = new ClientCredentials(clientId, inline, `${idPart} and CLIENT_SECRET`);
    return () => fixed;
  }
  if (!file) throw new ClientConfigError("No client secret: pass credentials, or set CLIENT_SECRET or CLIENT_SECRET_FILE.");
  const from = `${idPart} and the secret in CLIENT_SECRET_FILE (${file})`;
  const provider = () => new ClientCredentials(clientId, readSecretFile(file), from);
  provider(); // fail at start-up, not at the first request, when the file is missing
  return provider;
}

function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ClientConfigError(`CLIENT_SECRET_FILE ${path} could not be read (${code}).`);
  }
  // Mounted secrets and `echo >` leave a trailing newline that is not part of the secret.
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) throw new ClientConfigError(`CLIENT_SECRET_FILE ${path} is empty.`);
  return secret;
}
