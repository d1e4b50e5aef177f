import { generateKeyPairSync, type KeyPairKeyObjectResult } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type ClientAssertionAlg, jwkThumbprint } from "../client/client-key.js";
import { UsageError } from "./usage.js";

/** Options of `tessera keys generate-client-key`. */
export interface GenerateClientKeyOptions {
  alg: ClientAssertionAlg;
  out: string;
  force?: boolean;
}

/**
 * `tessera keys generate-client-key`: a new key pair for a private_key_jwt client. The
 * private JWK goes to --out, readable by its owner only; the public JWK, with the same kid
 * (its RFC 7638 thumbprint), alg and use, goes to stdout for `tessera clients keys add`.
 */
export function generateClientKeyCommand(o: GenerateClientKeyOptions): void {
  const pair = keyPair(o.alg);
  const publicJwk = pair.publicKey.export({ format: "jwk" });
  const about = { kid: jwkThumbprint(publicJwk), alg: o.alg, use: "sig" };
  const privateJwk = { ...pair.privateKey.export({ format: "jwk" }), ...about };
  writePrivateFile(o.out, `${JSON.stringify(privateJwk, null, 2)}\n`, o.force ?? false);
  // stdout holds only the public JWK, for a pipe or a file; the person reads what happened here.
  process.stderr.write(
    `Wrote the private key ${about.kid} (${o.alg}) to ${o.out}, readable only by its owner. Register the public key below with the client (tessera clients keys add), then authenticate with --key ${o.out} or CLIENT_KEY_FILE.\n`,
  );
  process.stdout.write(`${JSON.stringify({ ...publicJwk, ...about }, null, 2)}\n`);
}

function keyPair(alg: ClientAssertionAlg): KeyPairKeyObjectResult {
  switch (alg) {
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "EdDSA":
      return generateKeyPairSync("ed25519");
    case "RS256":
    case "PS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
  }
}

/**
 * Writes `text` to a file that is mode 0600 from its first byte. Without `force` an existing
 * file is refused (the open fails atomically, so no race replaces it); with `force` the new
 * key is written beside it and renamed over it, so the old file's mode is not inherited and
 * a crash leaves one whole key or the other.
 */
function writePrivateFile(path: string, text: string, force: boolean): void {
  const target = force ? join(dirname(path), `.${basename(path)}.${process.pid}.tmp`) : path;
  let fd: number;
  try {
    fd = openSync(target, "wx", 0o600);
  } catch (err) {
    throw refusal(err, path);
  }
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    if (force) renameSync(target, path);
  } catch (err) {
    rmSync(target, { force: true });
    throw refusal(err, path);
  }
}

function refusal(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EEXIST") return new UsageError(`${path} already exists; choose another --out, or pass --force to replace the key in it.`);
  if (code === "ENOENT") return new UsageError(`The folder of --out ${path} does not exist.`);
  if (code === "EISDIR") return new UsageError(`--out ${path} is a folder; give a file name.`);
  if (code === "EACCES" || code === "EPERM") return new UsageError(`--out ${path} cannot be written (${code}).`);
  return err as Error;
}
