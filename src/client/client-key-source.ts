import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { type ClientKey, parseClientKey } from "./client-key.js";
import { ClientConfigError } from "./errors.js";

/** Supplies the client's signing key for each token request. */
export type ClientKeySource = () => Promise<ClientKey>;

/** A key given once, as a JWK or PEM: the same for every request. */
export function fixedClientKey(key: ClientKey): ClientKeySource {
  return () => Promise.resolve(key);
}

/**
 * A key in a file (a JWK or PEM), read for every request and parsed again when its content
 * changed, so a key rotated on disk (a re-mounted Kubernetes secret) is used without a
 * restart. The file is read once now too, so a missing or unusable key fails at start-up.
 * `label` names where the path came from ("CLIENT_KEY_FILE").
 */
export function fileClientKey(path: string, label: string, keyId?: string): ClientKeySource {
  const from = `${label} ${path}`;
  const first = readKeyFileSync(path, from);
  let seen = digest(first);
  let current = parseClientKey(first, from, keyId);
  return async () => {
    const text = await readKeyFile(path, from);
    const now = digest(text);
    if (now !== seen) {
      current = parseClientKey(text, from, keyId);
      seen = now;
    }
    return current;
  };
}

// Only a digest of the key file is kept to notice a change, not a second copy of the key.
function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

function readKeyFileSync(path: string, from: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw unreadable(err, from);
  }
}

async function readKeyFile(path: string, from: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw unreadable(err, from);
  }
}

function unreadable(err: unknown, from: string): ClientConfigError {
  return new ClientConfigError(`${from} could not be read (${(err as NodeJS.ErrnoException).code ?? "unreadable"}).`);
}
