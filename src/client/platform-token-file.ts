import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { ClientAssertion } from "./client-assertion.js";
import { ClientConfigError } from "./errors.js";

// A signed JWT in compact form: header.payload.signature, each base64url (RFC 7515 §7.1).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Client authentication with a token the platform issued to the workload (a Kubernetes
 * projected service-account token, a SPIFFE JWT-SVID, a CI job's OIDC token), kept in a file
 * that is read for every token request: the platform rewrites it before it expires. It is
 * sent as the client assertion with the client id (workload identity federation). The file is
 * read once now too, so a missing file fails at start-up. `label` names where the path came
 * from ("CLIENT_ASSERTION_FILE").
 */
export function platformTokenFile(clientId: string, path: string, label: string, source: string): () => Promise<ClientAssertion> {
  const from = `${label} ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw unreadable(err, from);
  }
  checked(text, from);
  return async () => {
    let now: string;
    try {
      now = await readFile(path, "utf8");
    } catch (err) {
      throw unreadable(err, from);
    }
    return new ClientAssertion(clientId, checked(now, from), "platform_token", source);
  };
}

/** The token in a file's text (without the newline that tools leave), or a ClientConfigError that never quotes it. */
function checked(text: string, from: string): string {
  const token = text.trim();
  if (token === "") throw new ClientConfigError(`${from} is empty.`);
  if (!COMPACT_JWS.test(token))
    throw new ClientConfigError(`${from} does not hold a signed JWT (three base64url parts separated by dots).`);
  return token;
}

function unreadable(err: unknown, from: string): ClientConfigError {
  return new ClientConfigError(`${from} could not be read (${(err as NodeJS.ErrnoException).code ?? "unreadable"}).`);
}
