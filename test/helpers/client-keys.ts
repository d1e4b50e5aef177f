import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";

/** The signing algorithms a client key may have. */
export const CLIENT_ALGS = ["ES256", "EdDSA", "RS256", "PS256"] as const;

/** A key pair as a client holds it (private JWK) and as the server registers it (public JWK), sharing kid and alg. */
export interface TestClientKey {
  alg: (typeof CLIENT_ALGS)[number];
  privateKey: KeyObject;
  privateJwk: JWK;
  publicJwk: JWK;
  kid: string;
}

/** A fresh key pair for `alg`, generated here, with kid = its RFC 7638 thumbprint unless given. */
export async function testClientKey(alg: TestClientKey["alg"], kid?: string): Promise<TestClientKey> {
  const pair =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "EdDSA"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicJwk = pair.publicKey.export({ format: "jwk" }) as JWK;
  const id = kid ?? (await calculateJwkThumbprint(publicJwk));
  return {
    alg,
    privateKey: pair.privateKey,
    privateJwk: { ...(pair.privateKey.export({ format: "jwk" }) as JWK), kid: id, alg, use: "sig" },
    publicJwk: { ...publicJwk, kid: id, alg, use: "sig" },
    kid: id,
  };
}

/** A temporary folder for key and token files, removed by the returned cleanup. */
export function tempFiles(prefix = "tessera-keys-"): { dir: string; write(name: string, content: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
