import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../../src/core/ports/storage.js";
import { parseDatabaseUrl } from "../../../src/storage/postgres/connection.js";
import { Database } from "../../../src/storage/postgres/pool.js";
import { PostgresStorage } from "../../../src/storage/postgres/postgres-storage.js";
import { issueServerCertificate, makeCa } from "../../helpers/tls-files.js";

/*
 * sslmode against a real PostgreSQL with TLS: a throwaway cluster of its own (pg_createcluster
 * on a free port, a certificate for "localhost" only, from a CA made here), dropped afterwards.
 * It takes a few seconds and changes /etc/postgresql while it runs, so it is opt-in:
 * TESSERA_TEST_PG_TLS=1, as root, with Debian's postgresql-common (.ci/run sets it).
 */
const why =
  process.env.TESSERA_TEST_PG_TLS !== "1"
    ? "set TESSERA_TEST_PG_TLS=1 to run them (as root; they create and drop a PostgreSQL cluster)"
    : process.getuid?.() !== 0
      ? "not root"
      : !existsSync("/usr/bin/pg_createcluster")
        ? "pg_createcluster missing (apt-get install postgresql)"
        : undefined;
if (why !== undefined) {
  if (process.env.TESSERA_TEST_PG_TLS === "1" && process.env.TESSERA_REQUIRE_PG === "1")
    throw new Error(`PostgreSQL TLS tests cannot run: ${why}`);
  console.log(`SKIPPED PostgreSQL sslmode tests against a TLS server: ${why}`);
}

const PASSWORD = randomBytes(12).toString("hex");
let dir: string;
let version: string;
let cluster: string;
let port: number;
const url = (host: string, params: string) => `postgres://tls_user:${PASSWORD}@${host}:${port}/tls?${params}`;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** Whether the session `url` opens uses TLS, as the server sees it. */
async function usesTls(u: string): Promise<boolean> {
  const d = new Database(parseDatabaseUrl(u));
  try {
    return (await d.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0]!.ssl;
  } finally {
    await d.end();
  }
}

async function openError(u: string): Promise<Error> {
  return PostgresStorage.open(u).then(
    async (s) => (await s.close(), new Error("opened")),
    (e: unknown) => e as Error,
  );
}

describe.skipIf(why !== undefined)("sslmode against a PostgreSQL server with TLS", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tessera-pg-tls-"));
    chmodSync(dir, 0o755);
    const ca = makeCa(dir, "ca");
    makeCa(dir, "other-ca");
    // Valid for the name "localhost" only: connecting to 127.0.0.1 is a host name mismatch.
    const server = issueServerCertificate(dir, ca, "server", "DNS:localhost");
    const postgres = Number(execFileSync("id", ["-u", "postgres"]).toString());
    chownSync(server.key, postgres, postgres);
    chmodSync(server.key, 0o600);

    version = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))[0]!;
    cluster = `tessera_tls_${process.pid}_${randomBytes(3).toString("hex")}`;
    port = await freePort();
    execFileSync("pg_createcluster", [version, cluster, "-p", String(port), "--start-conf=manual"], { stdio: "pipe" });
    // Debian's postgresql.conf reads conf.d/; listen_addresses stays its "localhost".
    writeFileSync(
      `/etc/postgresql/${version}/${cluster}/conf.d/tls.conf`,
      `ssl = on\nssl_cert_file = '${server.cert}'\nssl_key_file = '${server.key}'\n`,
    );
    execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, cluster, "start"], { stdio: "pipe" });
    execFileSync("su", ["postgres", "-c", `psql -X -q -p ${port} -v ON_ERROR_STOP=1`], {
      input: `CREATE ROLE tls_user LOGIN PASSWORD '${PASSWORD}';\nCREATE DATABASE tls OWNER tls_user;\n`,
      stdio: ["pipe", "pipe", "pipe"],
    });
  }, 120_000);

  afterAll(() => {
    if (cluster) execFileSync("pg_dropcluster", ["--stop", version, cluster], { stdio: "pipe" });
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("verify-full with the right CA and host name connects over TLS, and the store works", async () => {
    const u = url("localhost", `sslmode=verify-full&sslrootcert=${join(dir, "ca.pem")}`);
    expect(await usesTls(u)).toBe(true);
    const storage = await PostgresStorage.open(u);
    await storage.setMeta("k", "v", true);
    expect(await storage.getMeta("k")).toBe("v");
    await storage.close();
  });

  it("verify-full to a host name the certificate does not name is refused, saying so, without the password", async () => {
    const err = await openError(url("127.0.0.1", `sslmode=verify-full&sslrootcert=${join(dir, "ca.pem")}`));
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err.message).toMatch(
      /^the database postgres:\/\/tls_user:\*\*\*\*@127\.0\.0\.1:\d+\/tls\?.* is unavailable: the server's certificate is not valid for this host name/,
    );
    expect(err.message).not.toContain(PASSWORD);
  });

  it("verify-ca checks the chain but not the host name: 127.0.0.1 connects", async () => {
    expect(await usesTls(url("127.0.0.1", `sslmode=verify-ca&sslrootcert=${join(dir, "ca.pem")}`))).toBe(true);
  });

  it("verify-full and verify-ca against a certificate from another CA are refused as untrusted", async () => {
    for (const mode of ["verify-full", "verify-ca"]) {
      const err = await openError(url("localhost", `sslmode=${mode}&sslrootcert=${join(dir, "other-ca.pem")}`));
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err.message).toMatch(/the server's certificate is not trusted \(\w+\): check sslrootcert$/);
    }
  });

  it("require encrypts without checking the certificate, as in libpq (pg alone would refuse this one)", async () => {
    expect(await usesTls(url("127.0.0.1", "sslmode=require"))).toBe(true);
  });

  it("require with a root certificate checks the chain, as verify-ca", async () => {
    const err = await openError(url("localhost", `sslmode=require&sslrootcert=${join(dir, "other-ca.pem")}`));
    expect(err.message).toMatch(/not trusted/);
  });

  it("prefer (the default) uses TLS when the server has it; disable never does", async () => {
    expect(await usesTls(url("127.0.0.1", "application_name=prefer"))).toBe(true);
    expect(await usesTls(url("127.0.0.1", "sslmode=disable"))).toBe(false);
  });
});
