import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import type { ClientConfig } from "pg";

/** libpq's sslmode values, with libpq's meaning (not pg's, which treats require as verify-full). */
type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

const SSL_MODES: readonly SslMode[] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** The query parameters understood; libpq refuses unknown ones too, rather than ignore a typo. */
const PARAMETERS = new Set([
  "host",
  "port",
  "dbname",
  "user",
  "password",
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslpassword",
  "application_name",
  "connect_timeout",
  "options",
  "channel_binding",
]);

/** A database URL that cannot be used as written; the message names the URL with its password redacted. */
export class DatabaseUrlError extends Error {
  override readonly name = "DatabaseUrlError";
}

/** Whether `db` names a PostgreSQL database (a postgres:// or postgresql:// URL) rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * The URL with its password (after `user:` and in a `password=` parameter) replaced by `****`:
 * the only form of a database URL that may appear in a message or a log line. Works on the
 * text, so it also redacts a URL that does not parse.
 */
export function redactDatabaseUrl(url: string): string {
  // The user info runs to the last "@" before the query: an unencoded "@" or "/" in a password
  // must not let the rest of the password pass for a host name.
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^?#]*@)?(.*)$/is.exec(url);
  let out = url;
  if (m) {
    const [, scheme, userinfo, rest] = m as unknown as [string, string, string | undefined, string];
    const colon = userinfo?.indexOf(":") ?? -1;
    out = scheme + (userinfo === undefined ? "" : colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:****@`) + rest;
  }
  return out.replace(/([?&]password=)[^&#]*/gi, "$1****");
}

/** Where and how to connect, parsed from a libpq-style URL. */
export interface ConnectionSettings {
  /** The URL with its password redacted: the only form that appears in messages. */
  readonly where: string;
  readonly sslmode: SslMode;
  /** The password, so that messages can be scrubbed of it; undefined when the URL has none. */
  readonly password: string | undefined;
  /** pg's settings without TLS (`ssl` is decided per connection attempt, see `tls`). */
  readonly config: ClientConfig;
  /** TLS options for the modes that may use TLS; undefined for disable and Unix sockets. */
  readonly tls: ConnectionOptions | undefined;
}

/**
 * Parses `postgres://user:pass@host:port/db?sslmode=...` as libpq does: percent-decoding,
 * `host=`/`port=`/`dbname=`/`user=`/`password=` parameters, a host starting with "/" as a Unix
 * socket folder, PGSSLMODE/PGSSLROOTCERT/PGSSLCERT/PGSSLKEY from `env` where the URL is silent,
 * and sslmode prefer by default. TLS follows libpq's table: require encrypts without checking
 * the certificate (unless a root certificate is given: then like verify-ca), verify-ca checks the
 * chain, verify-full also the host name. Files named by sslrootcert/sslcert/sslkey are read now.
 */
// long: libpq's rules for a connection URL read in libpq's order (URL, then environment, then
// defaults, then sslmode's table); split, each rule would lose the one it overrides.
export function parseDatabaseUrl(url: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): ConnectionSettings {
  const where = redactDatabaseUrl(url);
  const fail = (problem: string) => new DatabaseUrlError(`the database URL ${where} ${problem}`);
  if (!isPostgresUrl(url)) throw fail("is not a PostgreSQL URL: it must start with postgres:// or postgresql://");
  const userinfo = /^[^:]+:\/\/([^?#]*)@/s.exec(url)?.[1];
  if (userinfo?.includes("/")) throw fail('has a "/" or "@" in its user name or password: percent-encode them (%2F, %40)');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fail("cannot be parsed: percent-encode special characters in the user name and password");
  }
  const params = new Map<string, string>();
  for (const [k, v] of u.searchParams) {
    if (!PARAMETERS.has(k)) throw fail(`has the unknown parameter "${k}" (known: ${[...PARAMETERS].join(", ")})`);
    params.set(k, v);
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw fail("has a broken percent-encoding");
    }
  };
  const host = params.get("host") ?? (decode(u.hostname).replace(/^\[(.*)\]$/, "$1") || undefined);
  if (host?.includes(","))
    throw fail("names several hosts, which Tessera does not support: name one (a load balancer or a DNS name for the primary)");
  const rawPort = params.get("port") ?? u.port;
  const port = rawPort === "" ? undefined : Number(rawPort);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw fail("has a port that is not a number from 1 to 65535");
  const timeout = params.get("connect_timeout");
  const timeoutS = timeout === undefined ? undefined : Number(timeout);
  if (timeoutS !== undefined && !(Number.isInteger(timeoutS) && timeoutS >= 0))
    throw fail("has a connect_timeout that is not a whole number of seconds");
  const password = params.get("password") ?? (decode(u.password) || undefined);
  const channelBinding = params.get("channel_binding") ?? "prefer";
  if (channelBinding !== "prefer" && channelBinding !== "disable") {
    throw fail(`has channel_binding=${channelBinding}: only prefer and disable are supported`);
  }

  const sslmode = (params.get("sslmode") ?? env.PGSSLMODE ?? "prefer") as SslMode;
  if (!SSL_MODES.includes(sslmode)) throw fail(`has sslmode=${sslmode}: use one of ${SSL_MODES.join(", ")}`);
  const sslParam = (name: string) => params.get(name) ?? env[`PG${name.toUpperCase()}`];
  // libpq never uses TLS over a Unix socket, whatever sslmode says.
  const socket = host?.startsWith("/") ?? false;
  const tls = socket || sslmode === "disable" ? undefined : tlsOptions(sslmode, sslParam, home, fail);

  const config: ClientConfig = {
    host,
    port,
    database: params.get("dbname") ?? (decode(u.pathname.slice(1)) || undefined),
    user: params.get("user") ?? (decode(u.username) || undefined),
    password,
    application_name: params.get("application_name") ?? "tessera",
    options: params.get("options"),
    // libpq: 0 waits forever, and anything shorter than 2 s counts as 2 s.
    connectionTimeoutMillis: timeoutS === undefined ? undefined : timeoutS === 0 ? 0 : Math.max(2, timeoutS) * 1000,
    enableChannelBinding: channelBinding === "prefer" && tls !== undefined,
  };
  return { where, sslmode, password, config, tls };
}

/** TLS options for one sslmode, by libpq's rules (https://www.postgresql.org/docs/current/libpq-ssl.html). */
function tlsOptions(
  mode: SslMode,
  param: (name: string) => string | undefined,
  home: string,
  fail: (problem: string) => DatabaseUrlError,
): ConnectionOptions {
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw fail(`has ${name}=${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  // libpq's default files, used only when they exist and the URL names none.
  const fallback = (file: string) => {
    const path = join(home, ".postgresql", file);
    return existsSync(path) ? path : undefined;
  };
  const opts: ConnectionOptions = {};
  const cert = param("sslcert") ?? fallback("postgresql.crt");
  const key = param("sslkey") ?? (cert === undefined ? undefined : fallback("postgresql.key"));
  if (cert !== undefined) {
    if (key === undefined) throw fail("has sslcert without sslkey: a client certificate needs its private key");
    opts.cert = read("sslcert", cert);
    opts.key = read("sslkey", key);
    const passphrase = param("sslpassword");
    if (passphrase !== undefined) opts.passphrase = passphrase;
  }

  const root = param("sslrootcert") ?? fallback("root.crt");
  if (root === "system") {
    // As libpq 16: the system's trusted CAs, and only with the host name checked, since any
    // public CA can certify someone else's server.
    if (mode !== "verify-full") throw fail("has sslrootcert=system, which needs sslmode=verify-full");
    return opts;
  }
  const verify = mode === "verify-ca" || mode === "verify-full" || (mode === "require" && root !== undefined);
  if (!verify) return { ...opts, rejectUnauthorized: false };
  if (root === undefined) {
    throw fail(`has sslmode=${mode} but no CA certificate: add sslrootcert=/path/to/ca.pem (or sslrootcert=system with verify-full)`);
  }
  opts.ca = read("sslrootcert", root);
  // verify-ca (and require with a root certificate): the chain is checked, the host name is not.
  if (mode !== "verify-full") opts.checkServerIdentity = () => undefined;
  return opts;
}
