import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

// Throwaway certificates for tests that speak TLS to a real peer (Tessera, PostgreSQL, a key
// issuer), made with the openssl command: P-256 keys, valid for one day.

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A self-signed CA in `dir`: `<name>.pem` and `<name>.key`. */
export function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl(dir, [
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key };
}

/**
 * A server certificate in `dir` (`<name>.pem`, `<name>.key`) signed by `ca`, for the names in
 * `subjectAltName` only (openssl's syntax: "DNS:localhost,IP:127.0.0.1").
 */
export function issueServerCertificate(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  subjectAltName: string,
): { cert: string; key: string } {
  const p = (suffix: string) => join(dir, `${name}${suffix}`);
  openssl(dir, ["req", ...EC_KEY, "-keyout", p(".key"), "-out", p(".csr"), "-subj", "/CN=localhost"]);
  writeFileSync(p(".ext"), `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    p(".csr"),
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    p(".pem"),
    "-days",
    "1",
    "-extfile",
    p(".ext"),
  ]);
  return { cert: p(".pem"), key: p(".key") };
}

/** A CA and a server certificate for localhost and 127.0.0.1 signed by it. */
export function makeTlsFiles(dir: string): { ca: string; cert: string; key: string } {
  const ca = makeCa(dir, "ca");
  const server = issueServerCertificate(dir, ca, "server", "DNS:localhost,IP:127.0.0.1");
  return { ca: ca.cert, ...server };
}
