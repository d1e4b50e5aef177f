import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DatabaseUrlError, isPostgresUrl, parseDatabaseUrl, redactDatabaseUrl } from "../../../src/storage/postgres/connection.js";

const PASSWORD = "S3cret-Passw0rd";
const dir = mkdtempSync(join(tmpdir(), "tessera-pg-url-"));
const ca = join(dir, "ca.pem");
writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n");
const noHome = join(dir, "home"); // no ~/.postgresql: libpq's default files are absent
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (url: string, env: NodeJS.ProcessEnv = {}) => parseDatabaseUrl(url, env, noHome);

describe("redactDatabaseUrl", () => {
  it.each([
    [
      "postgres://tessera:S3cret-Passw0rd@db.example:5432/tessera?sslmode=require",
      "postgres://tessera:****@db.example:5432/tessera?sslmode=require",
    ],
    ["postgresql://u:S3cret%2DPassw0rd@h/d", "postgresql://u:****@h/d"],
    ["postgres://u@h/d?password=S3cret-Passw0rd&sslmode=disable", "postgres://u@h/d?password=****&sslmode=disable"],
    ["postgres://u:p%40ss@h/d", "postgres://u:****@h/d"],
    // An unencoded "@" or "/" in the password: nothing of it may pass for a host name.
    ["postgres://u:S3cret@Pass/w0rd@h:5432/d", "postgres://u:****@h:5432/d"],
    ["postgres://u:S3cret-Passw0rd@[::1:bad/d", "postgres://u:****@[::1:bad/d"],
    ["postgres://h/d", "postgres://h/d"],
    ["postgres://u@h/d", "postgres://u@h/d"],
  ])("%s -> %s", (url, redacted) => {
    expect(redactDatabaseUrl(url)).toBe(redacted);
  });
});

describe("isPostgresUrl", () => {
  it("is true for postgres:// and postgresql:// URLs and false for file paths", () => {
    expect(isPostgresUrl("postgres://h/d")).toBe(true);
    expect(isPostgresUrl("POSTGRESQL://h/d")).toBe(true);
    expect(isPostgresUrl("./data/tessera.db")).toBe(false);
    expect(isPostgresUrl("/var/lib/postgres://x")).toBe(false);
  });
});

describe("parseDatabaseUrl", () => {
  it("takes user, password, host, port and database from the URL, percent-decoded", () => {
    const { config, where, password } = parse("postgres://app%20user:p%40ss%2Fword@db.example:6432/my%20db?application_name=replica-a");
    expect(config).toMatchObject({
      user: "app user",
      password: "p@ss/word",
      host: "db.example",
      port: 6432,
      database: "my db",
      application_name: "replica-a",
    });
    expect(password).toBe("p@ss/word");
    expect(where).toBe("postgres://app%20user:****@db.example:6432/my%20db?application_name=replica-a");
  });

  it("reads host, port, dbname, user and password parameters, an IPv6 host and a Unix socket folder", () => {
    expect(parse("postgres://[::1]:5433/d").config).toMatchObject({ host: "::1", port: 5433 });
    const socket = parse("postgres:///tessera?host=/var/run/postgresql&user=svc&sslmode=require");
    expect(socket.config).toMatchObject({ host: "/var/run/postgresql", database: "tessera", user: "svc" });
    // libpq never uses TLS over a Unix socket.
    expect(socket.tls).toBeUndefined();
    expect(parse("postgres://h/d?dbname=other&port=7000&password=pw").config).toMatchObject({
      database: "other",
      port: 7000,
      password: "pw",
    });
    expect(parse("postgres://h/d").config.application_name).toBe("tessera");
  });

  it("connect_timeout is seconds as in libpq: 0 waits forever, under 2 counts as 2", () => {
    expect(parse("postgres://h/d?connect_timeout=10").config.connectionTimeoutMillis).toBe(10_000);
    expect(parse("postgres://h/d?connect_timeout=1").config.connectionTimeoutMillis).toBe(2_000);
    expect(parse("postgres://h/d?connect_timeout=0").config.connectionTimeoutMillis).toBe(0);
    expect(parse("postgres://h/d").config.connectionTimeoutMillis).toBeUndefined();
  });

  describe("sslmode, as libpq defines it", () => {
    it("defaults to prefer: TLS without certificate checks (falling back to none when the server has no TLS)", () => {
      const s = parse("postgres://h/d");
      expect(s.sslmode).toBe("prefer");
      expect(s.tls).toEqual({ rejectUnauthorized: false });
    });

    it("disable uses no TLS at all", () => {
      expect(parse("postgres://h/d?sslmode=disable").tls).toBeUndefined();
    });

    it("require encrypts without checking the certificate (pg alone would check it as verify-full)", () => {
      expect(parse("postgres://h/d?sslmode=require").tls).toEqual({ rejectUnauthorized: false });
    });

    it("require with a root certificate checks the chain but not the host name, as verify-ca", () => {
      const tls = parse(`postgres://h/d?sslmode=require&sslrootcert=${ca}`).tls!;
      expect(tls.rejectUnauthorized).toBeUndefined(); // Node's default: checked
      expect(String(tls.ca)).toContain("BEGIN CERTIFICATE");
      expect(tls.checkServerIdentity!("other.example", {} as never)).toBeUndefined();
    });

    it("verify-ca checks the chain only; verify-full also the host name (Node's own check)", () => {
      const caOnly = parse(`postgres://h/d?sslmode=verify-ca&sslrootcert=${ca}`).tls!;
      expect(caOnly.checkServerIdentity!("other.example", {} as never)).toBeUndefined();
      const full = parse(`postgres://h/d?sslmode=verify-full&sslrootcert=${ca}`).tls!;
      expect(full.checkServerIdentity).toBeUndefined();
      expect(full.rejectUnauthorized).toBeUndefined();
      expect(String(full.ca)).toContain("BEGIN CERTIFICATE");
    });

    it("verify-ca and verify-full without a CA certificate are refused, naming the fix", () => {
      for (const mode of ["verify-ca", "verify-full"]) {
        expect(() => parse(`postgres://h/d?sslmode=${mode}`)).toThrow(/no CA certificate: add sslrootcert=/);
      }
    });

    it("sslrootcert=system trusts the system's CAs, only with verify-full", () => {
      const tls = parse("postgres://h/d?sslmode=verify-full&sslrootcert=system").tls!;
      expect(tls.ca).toBeUndefined();
      expect(tls.rejectUnauthorized).toBeUndefined();
      expect(() => parse("postgres://h/d?sslmode=require&sslrootcert=system")).toThrow(
        /sslrootcert=system, which needs sslmode=verify-full/,
      );
    });

    it("reads the client certificate and key files, and refuses a certificate without its key", () => {
      const tls = parse(`postgres://h/d?sslmode=verify-full&sslrootcert=${ca}&sslcert=${ca}&sslkey=${ca}&sslpassword=pp`).tls!;
      expect(String(tls.cert)).toContain("BEGIN CERTIFICATE");
      expect(tls.passphrase).toBe("pp");
      expect(() => parse(`postgres://h/d?sslmode=require&sslcert=${ca}`)).toThrow(/sslcert without sslkey/);
    });

    it("PGSSLMODE and PGSSLROOTCERT apply when the URL does not say, and the URL wins", () => {
      expect(parse("postgres://h/d", { PGSSLMODE: "disable" }).tls).toBeUndefined();
      expect(parse("postgres://h/d?sslmode=require", { PGSSLMODE: "disable" }).tls).toEqual({ rejectUnauthorized: false });
      expect(parse("postgres://h/d", { PGSSLMODE: "verify-ca", PGSSLROOTCERT: ca }).tls!.ca).toBeDefined();
    });

    it("libpq's default root certificate (~/.postgresql/root.crt) makes require check the chain", () => {
      const home = mkdtempSync(join(dir, "home-"));
      expect(parseDatabaseUrl("postgres://h/d?sslmode=require", {}, home).tls).toEqual({ rejectUnauthorized: false });
      mkdirSync(join(home, ".postgresql"));
      writeFileSync(join(home, ".postgresql", "root.crt"), readFileSync(ca));
      const tls = parseDatabaseUrl("postgres://h/d?sslmode=require", {}, home).tls!;
      expect(String(tls.ca)).toContain("BEGIN CERTIFICATE");
      expect(tls.rejectUnauthorized).toBeUndefined();
      expect(tls.checkServerIdentity!("other.example", {} as never)).toBeUndefined();
    });
  });

  describe("mistakes get one sentence that never contains the password", () => {
    const bad: [string, RegExp][] = [
      [`mysql://u:${PASSWORD}@h/d`, /is not a PostgreSQL URL/],
      [`postgres://u:${PASSWORD}@h/d?sslmode=maybe`, /sslmode=maybe: use one of disable, allow, prefer, require, verify-ca, verify-full/],
      [`postgres://u:${PASSWORD}@h/d?sslmdoe=require`, /unknown parameter "sslmdoe"/],
      [`postgres://u:${PASSWORD}@h1,h2/d`, /several hosts/],
      [`postgres://u:${PASSWORD}@h:99999/d`, /cannot be parsed|port/],
      [`postgres://u:${PASSWORD}@h/d?port=0`, /port that is not a number from 1 to 65535/],
      [`postgres://u:${PASSWORD}@h/d?connect_timeout=soon`, /connect_timeout/],
      [`postgres://u:${PASSWORD}@h/d?channel_binding=require`, /channel_binding=require: only prefer and disable/],
      [
        `postgres://u:${PASSWORD}@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`,
        /sslrootcert=\/nonexistent\/ca.pem, which cannot be read \(ENOENT\)/,
      ],
      [`postgres://u:${PASSWORD}@h/d?sslmode=verify-full`, /no CA certificate/],
      [`postgres://u:S3cret/Passw0rd@h/d`, /percent-encode them/],
      [`postgres://u:%ZZ${PASSWORD}@h/d`, /percent-encoding/],
    ];
    it.each(bad)("%s", (url, message) => {
      let err: unknown;
      try {
        parse(url);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DatabaseUrlError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/:\*\*\*\*@/);
      for (const text of [(err as Error).message, String(err), (err as Error).stack ?? ""]) {
        expect(text).not.toContain("S3cret");
        expect(text).not.toContain("Passw0rd");
      }
    });
  });
});
