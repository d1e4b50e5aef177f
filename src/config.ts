import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { isSigningAlg, SIGNING_ALGS, type SigningAlg } from "./core/signing-algs.js";
import { parseDuration } from "./duration.js";
import { type Kek, kekFromEnv } from "./keys/key-encryption.js";

/** Validated settings of `tessera serve`. Each comes from a flag or an environment variable (SETTINGS). */
export interface Config {
  readonly port: number;
  /** Listen address; undefined: 127.0.0.1 and ::1 (transport/listener/listen-all.ts). */
  readonly host: string | undefined;
  /** An absolute SQLite file path, or a postgres:// URL (which may hold a password: never log it as it is). */
  readonly db: string;
  readonly issuer: string;
  readonly alg: SigningAlg;
  readonly logLevel: string;
  /** `json`, `pretty`, or `auto` (pretty when stdout is a terminal). */
  readonly logFormat: "auto" | "json" | "pretty";
  readonly maxBodyBytes: number;
  readonly keyRotationPeriodMs: number;
  readonly jwksMaxAgeMs: number;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** Proxy addresses whose X-Forwarded-For is believed; empty: none. */
  readonly trustProxy: readonly string[];
  /** Successful-client request rate per client id, per second; 0 = off. */
  readonly clientRps: number;
  readonly clientBurst: number;
  /** Request rate per source address, per second; 0 = off. */
  readonly ipRps: number;
  readonly ipBurst: number;
  /** Failed authentications allowed per client id from one address per window before that pair is throttled; 0 = off. */
  readonly authFailureLimit: number;
  /** Failed authentications allowed from one address (any client ids) per window; 0 = off. */
  readonly authFailureAddressLimit: number;
  /** Tokens one client may revoke per window; 0 = off. */
  readonly revocationLimit: number;
  readonly revocationWindowMs: number;
  readonly authFailureWindowMs: number;
  readonly maxHeaderBytes: number;
  readonly maxMessageBytes: number;
  readonly maxDeadlineMs: number;
  readonly requestTimeoutMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may have open at once. */
  readonly maxConcurrentStreams: number;
  /** Health Watch streams open at once in this process; 0: Watch is refused. */
  readonly maxHealthWatches: number;
  readonly idleTimeoutMs: number;
  readonly shutdownGraceMs: number;
  /** Worker processes sharing the port (node:cluster) and the database file. */
  readonly workers: number;
  /** Where /metrics is served instead of the public port (host and port); undefined: on the public port. */
  readonly metricsAddr: { host: string; port: number } | undefined;
  /** Clients kept in memory per process; 0 = read storage on every request. */
  readonly clientCacheSize: number;
  /** PostgreSQL: listen for other replicas' changes (NOTIFY) besides polling for them. */
  readonly dbNotify: boolean;
  /** How long cached clients keep getting tokens while the database cannot be reached. */
  readonly dbOutageGraceMs: number;
  /** TESSERA_KEK or TESSERA_KEK_FILE (never a flag: flags show in `ps`): encrypts private keys at rest. */
  readonly kek: Kek | undefined;
  /** Longest lifetime (exp - iat) of a private_key_jwt client assertion, ms. */
  readonly maxAssertionLifetimeMs: number;
  /** Whether jwks_uri and federated issuers may be plain http to a loopback address (development only). */
  readonly allowInsecureJwksUriLoopback: boolean;
  /** PEM CA certificates trusted, besides Node's, when fetching client and issuer keys; undefined: none. */
  readonly jwksCaFile: string | undefined;
}

/** A setting a person got wrong; the message is one sentence saying which and how to fix it. */
class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Checks a raw value and turns it into the setting's value; throws a ConfigError naming `where`. */
type Parse<T> = (raw: string, where: string) => T;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Where the database is when neither --db nor TESSERA_DB says: relative to the working directory. */
const DEFAULT_DB_PATH = "./data/tessera.db";

/** One `tessera serve` setting: its flag, environment variable(s), default, check and help line. */
export interface Setting<T = unknown> {
  readonly flag: string;
  readonly env: string;
  /** A second variable read when `env` is unset (PORT, as platforms that assign ports set it). */
  readonly envAlias?: string;
  readonly def: string | undefined;
  /** How the default reads in help and the README when it is not a plain value. */
  readonly defText?: string;
  /** How messages name the default when a value came from it (default: "the default of --flag"). */
  readonly defWhere?: string;
  /** Name of the value in help texts: `--port <port>`. */
  readonly arg: string;
  /** One line saying what the setting does (help and the README's configuration table). */
  readonly help: string;
  readonly parse: Parse<T>;
}

/**
 * Every `tessera serve` setting: flag, environment variable, default, check and help line, in
 * one table. `tessera serve --help` and the README's configuration table are generated from it.
 */
export const SETTINGS = {
  port: {
    flag: "port",
    env: "TESSERA_PORT",
    envAlias: "PORT",
    def: "8080",
    arg: "port",
    help: "TCP port for every protocol (0: any free port)",
    parse: int(0, 65535, "a port number from 0 to 65535"),
  },
  host: {
    flag: "host",
    env: "TESSERA_HOST",
    def: undefined,
    defText: "127.0.0.1 and ::1",
    arg: "address",
    help: "listen address; 0.0.0.0 (IPv4) or :: (IPv6 and IPv4) listens on every interface (serve TLS then)",
    parse: (s: string) => s,
  },
  db: {
    flag: "db",
    env: "TESSERA_DB",
    envAlias: "DATABASE_URL",
    def: DEFAULT_DB_PATH,
    defWhere: `the default, ${DEFAULT_DB_PATH} in the working directory`,
    arg: "file-or-url",
    help: "SQLite database file, relative to the working directory (its folder is created), or a PostgreSQL URL postgres://user@host/db shared by several replicas",
    parse: databaseSetting,
  },
  issuer: {
    flag: "issuer",
    env: "TESSERA_ISSUER",
    def: undefined,
    defText: "http://localhost:PORT",
    arg: "url",
    help: "`iss` of tokens and base of the metadata URLs; set it to your public https URL",
    parse: issuerUrl,
  },
  alg: {
    flag: "alg",
    env: "TESSERA_ALG",
    def: "ES256",
    arg: "alg",
    help: `signing algorithm of new keys: ${SIGNING_ALGS.join(", ")}`,
    parse: alg,
  },
  logLevel: {
    flag: "log-level",
    env: "TESSERA_LOG_LEVEL",
    def: "info",
    arg: "level",
    help: `log level: ${LOG_LEVELS.join(", ")}`,
    parse: oneOf(LOG_LEVELS),
  },
  logFormat: {
    flag: "log-format",
    env: "TESSERA_LOG_FORMAT",
    def: "auto",
    arg: "format",
    help: "log lines as `json`, or `pretty` for people; `auto`: pretty when stdout is a terminal",
    parse: oneOf(["auto", "json", "pretty"] as const),
  },
  maxBodyBytes: {
    flag: "max-body-bytes",
    env: "TESSERA_MAX_BODY_BYTES",
    def: "16384",
    arg: "bytes",
    help: "largest form body accepted (413 beyond)",
    parse: int(256, 1 << 20, "a whole number of bytes from 256 to 1048576"),
  },
  keyRotationPeriod: {
    flag: "key-rotation-period",
    env: "TESSERA_KEY_ROTATION_PERIOD",
    def: "30d",
    arg: "duration",
    help: "how long a signing key signs before the next one takes over",
    parse: duration(3_600_000, 365 * 86_400_000, "a duration from 1h to 365d such as 30d"),
  },
  jwksMaxAge: {
    flag: "jwks-max-age",
    env: "TESSERA_JWKS_MAX_AGE",
    def: "15m",
    arg: "duration",
    help: "JWKS cache lifetime; a next key is published twice this long before it signs",
    parse: duration(10_000, 7 * 86_400_000, "a duration from 10s to 7d such as 15m"),
  },
  tlsCert: {
    flag: "tls-cert",
    env: "TESSERA_TLS_CERT",
    def: undefined,
    defText: "none (cleartext)",
    arg: "file",
    help: "PEM certificate chain: serve HTTPS and gRPC over TLS (with --tls-key)",
    parse: readableFile,
  },
  tlsKey: {
    flag: "tls-key",
    env: "TESSERA_TLS_KEY",
    def: undefined,
    defText: "none (cleartext)",
    arg: "file",
    help: "PEM private key of --tls-cert",
    parse: readableFile,
  },
  trustProxy: {
    flag: "trust-proxy",
    env: "TESSERA_TRUST_PROXY",
    def: "",
    defText: "none",
    arg: "addresses",
    help: "comma-separated proxy addresses whose X-Forwarded-For is believed",
    parse: ipList,
  },
  clientRps: {
    flag: "client-rps",
    env: "TESSERA_CLIENT_RPS",
    def: "0",
    arg: "rate",
    help: "requests per second per authenticated client (0: off)",
    parse: int(0, 1_000_000, "a rate per second from 0 (off) to 1000000"),
  },
  clientBurst: {
    flag: "client-burst",
    env: "TESSERA_CLIENT_BURST",
    def: undefined,
    defText: "2 × --client-rps",
    arg: "count",
    help: "requests a client may make at once above --client-rps",
    parse: int(1, 10_000_000, "a whole number of requests from 1"),
  },
  ipRps: {
    flag: "ip-rps",
    env: "TESSERA_IP_RPS",
    def: "0",
    arg: "rate",
    help: "requests per second per source address (0: off)",
    parse: int(0, 1_000_000, "a rate per second from 0 (off) to 1000000"),
  },
  ipBurst: {
    flag: "ip-burst",
    env: "TESSERA_IP_BURST",
    def: undefined,
    defText: "2 × --ip-rps",
    arg: "count",
    help: "requests an address may make at once above --ip-rps",
    parse: int(1, 10_000_000, "a whole number of requests from 1"),
  },
  authFailureLimit: {
    flag: "auth-failure-limit",
    env: "TESSERA_AUTH_FAILURE_LIMIT",
    def: "10",
    arg: "count",
    help: "failed authentications per client id from one source address per --auth-failure-window before 429 (0: off)",
    parse: int(0, 100_000, "a whole number from 0 (off) to 100000"),
  },
  authFailureAddressLimit: {
    flag: "auth-failure-address-limit",
    env: "TESSERA_AUTH_FAILURE_ADDRESS_LIMIT",
    def: "100",
    arg: "count",
    help: "failed authentications from one source address, any client id, per --auth-failure-window before 429 (0: off)",
    parse: int(0, 1_000_000, "a whole number from 0 (off) to 1000000"),
  },
  authFailureWindow: {
    flag: "auth-failure-window",
    env: "TESSERA_AUTH_FAILURE_WINDOW",
    def: "60s",
    arg: "duration",
    help: "the window of --auth-failure-limit and --auth-failure-address-limit",
    parse: duration(1000, 86_400_000, "a duration from 1s to 1d such as 60s"),
  },
  revocationLimit: {
    flag: "revocation-limit",
    env: "TESSERA_REVOCATION_LIMIT",
    def: "100",
    arg: "count",
    help: "revocations stored per client per --revocation-window before 503 with Retry-After (0: off)",
    parse: int(0, 1_000_000, "a whole number from 0 (off) to 1000000"),
  },
  revocationWindow: {
    flag: "revocation-window",
    env: "TESSERA_REVOCATION_WINDOW",
    def: "60s",
    arg: "duration",
    help: "the window of --revocation-limit",
    parse: duration(1000, 86_400_000, "a duration from 1s to 1d such as 60s"),
  },
  maxHeaderBytes: {
    flag: "max-header-bytes",
    env: "TESSERA_MAX_HEADER_BYTES",
    def: "16384",
    arg: "bytes",
    help: "largest request headers (HTTP/1.1: 431; HTTP/2: refused stream)",
    parse: int(1024, 1 << 20, "a whole number of bytes from 1024 to 1048576"),
  },
  maxMessageBytes: {
    flag: "max-message-bytes",
    env: "TESSERA_MAX_MESSAGE_BYTES",
    def: "65536",
    arg: "bytes",
    help: "largest gRPC / Connect message (RESOURCE_EXHAUSTED beyond)",
    parse: int(1024, 16 << 20, "a whole number of bytes from 1024 to 16777216"),
  },
  maxDeadline: {
    flag: "max-deadline",
    env: "TESSERA_MAX_DEADLINE",
    def: "5m",
    arg: "duration",
    help: "largest grpc-timeout / connect-timeout-ms a client may ask for",
    parse: duration(1000, 86_400_000, "a duration from 1s to 1d such as 5m"),
  },
  requestTimeout: {
    flag: "request-timeout",
    env: "TESSERA_REQUEST_TIMEOUT",
    def: "30s",
    arg: "duration",
    help: "time for a request's headers and body to arrive",
    parse: duration(1000, 3_600_000, "a duration from 1s to 1h such as 30s"),
  },
  maxConcurrentStreams: {
    flag: "max-concurrent-streams",
    env: "TESSERA_MAX_CONCURRENT_STREAMS",
    def: "100",
    arg: "count",
    help: "concurrent HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS)",
    parse: int(1, 10_000, "a number of streams from 1 to 10000"),
  },
  maxHealthWatches: {
    flag: "max-health-watches",
    env: "TESSERA_MAX_HEALTH_WATCHES",
    def: "1000",
    arg: "count",
    help: "open grpc.health.v1 Watch streams per process (at most 8 per connection)",
    parse: int(0, 1_000_000, "a number of streams from 0 to 1000000"),
  },
  idleTimeout: {
    flag: "idle-timeout",
    env: "TESSERA_IDLE_TIMEOUT",
    def: "60s",
    arg: "duration",
    help: "idle HTTP/2 sessions close after this",
    parse: duration(1000, 3_600_000, "a duration from 1s to 1h such as 60s"),
  },
  metricsAddr: {
    flag: "metrics-addr",
    env: "TESSERA_METRICS_ADDR",
    def: undefined,
    defText: "none: /metrics on the public port",
    arg: "host:port",
    help: "serve GET /metrics on this address alone (e.g. 127.0.0.1:9464), not on the public port",
    parse: hostPort,
  },
  clientCacheSize: {
    flag: "client-cache-size",
    env: "TESSERA_CLIENT_CACHE_SIZE",
    def: "100000",
    arg: "count",
    help: "clients kept in memory, about 0.5 KB each (0: read SQLite on every request)",
    parse: int(0, 10_000_000, "a number of clients from 0 (no cache) to 10000000"),
  },
  workers: {
    flag: "workers",
    env: "TESSERA_WORKERS",
    def: "1",
    arg: "count",
    help: "processes sharing the port and the database file",
    parse: int(1, 64, "a number of processes from 1 to 64"),
  },
  dbNotify: {
    flag: "db-notify",
    env: "TESSERA_DB_NOTIFY",
    def: "on",
    arg: "on|off",
    help: "PostgreSQL: hear of other replicas' changes through LISTEN/NOTIFY at once; off: by polling alone, every 250 ms (PgBouncer in transaction mode)",
    parse: onOff,
  },
  dbOutageGrace: {
    flag: "db-outage-grace",
    env: "TESSERA_DB_OUTAGE_GRACE",
    def: "5m",
    arg: "duration",
    help: "how long clients already in memory keep getting tokens while the database cannot be reached; then 503 / UNAVAILABLE",
    parse: duration(1000, 86_400_000, "a duration from 1s to 1d such as 5m"),
  },
  shutdownGrace: {
    flag: "shutdown-grace",
    env: "TESSERA_SHUTDOWN_GRACE",
    def: "10s",
    arg: "duration",
    help: "how long requests in flight may take to finish on SIGTERM",
    parse: duration(0, 600_000, "a duration from 0s to 10m such as 10s"),
  },
  maxAssertionLifetime: {
    flag: "max-assertion-lifetime",
    env: "TESSERA_MAX_ASSERTION_LIFETIME",
    def: "5m",
    arg: "duration",
    help: "longest lifetime (exp - iat) of a private_key_jwt client assertion",
    parse: duration(10_000, 3_600_000, "a duration from 10s to 1h such as 5m"),
  },
  jwksCaFile: {
    flag: "jwks-ca-file",
    env: "TESSERA_JWKS_CA_FILE",
    def: undefined,
    defText: "none: the usual public CAs",
    arg: "file",
    help: "PEM CA certificates also trusted when fetching client jwks_uri and federated issuers' keys (a cluster's own CA)",
    parse: pemCertificates,
  },
  allowInsecureJwksUriLoopback: {
    flag: "allow-insecure-jwks-uri-loopback",
    env: "TESSERA_ALLOW_INSECURE_JWKS_URI_LOOPBACK",
    def: "false",
    arg: "bool",
    help: "development only: let client jwks_uri and federated issuers be plain http to a loopback address (otherwise https only)",
    parse: bool,
  },
} satisfies Record<string, Setting>;

/** Settings that only come from the environment (never flags: flags show in `ps`). */
export const ENV_ONLY_SETTINGS: readonly { env: string; help: string }[] = [
  { env: "TESSERA_KEK", help: "key-encryption key for private keys at rest: 64 hex digits or base64 of 32 bytes" },
  { env: "TESSERA_KEK_FILE", help: "a file holding TESSERA_KEK (as secret managers and systemd credentials provide it)" },
];

/** The name of a `tessera serve` setting in SETTINGS. */
export type SettingKey = keyof typeof SETTINGS;

/** Raw setting values from flags (winning over the environment). */
export type RawSettings = Partial<Record<SettingKey, string>>;

/** The checked value of one setting: its parse's result, or undefined when it has no default and nobody set it. */
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K] extends { parse: Parse<infer T>; def: string }
  ? T
  : ReturnType<(typeof SETTINGS)[K]["parse"]> | undefined;

/** Every setting's checked value, by the name SETTINGS gives it: a misspelt name does not compile. */
type SettingValues = { readonly [K in SettingKey]: SettingValue<K> };

const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** One setting: the flag, else the environment, else the default, checked by the setting's parse. */
export function settingValue<K extends SettingKey>(key: K, flags: RawSettings, env: NodeJS.ProcessEnv): SettingValue<K> {
  const s: Setting = SETTINGS[key];
  const raw = flags[key] ?? settingFromEnv(key, env)?.value ?? s.def;
  const value = raw === undefined ? undefined : s.parse(raw, settingSource(key, flags, env));
  // SETTINGS pairs each key with a parse returning that key's value type (SettingValue);
  // TypeScript cannot follow a generic key through the table, so it is told here, once.
  return value as SettingValue<K>;
}

/** Every setting, checked in table order: of several mistakes, the first in the table is the one reported. */
function readSettings(flags: RawSettings, env: NodeJS.ProcessEnv): SettingValues {
  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const key of SETTING_KEYS) values[key] = settingValue(key, flags, env);
  // The loop set every key of the table (SETTING_KEYS) to that key's own value.
  return values as SettingValues;
}

/** Merges flags over environment over defaults and checks every value. */
export function loadConfig(flags: RawSettings, env: NodeJS.ProcessEnv): Config {
  const v = readSettings(flags, env);
  const where = (key: SettingKey) => settingSource(key, flags, env);
  if (v.keyRotationPeriod < 4 * v.jwksMaxAge) {
    throw new ConfigError(
      `${where("keyRotationPeriod")} must be at least four times ${where("jwksMaxAge")}, so each next key is published long enough before it signs.`,
    );
  }
  if ((v.tlsCert === undefined) !== (v.tlsKey === undefined)) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both files, or neither for cleartext.");
  }
  const scheme = v.tlsCert === undefined ? "http" : "https";
  return Object.freeze({
    port: v.port,
    host: v.host,
    db: v.db,
    issuer: v.issuer ?? `${scheme}://localhost:${v.port}`,
    alg: v.alg,
    logLevel: v.logLevel,
    logFormat: v.logFormat,
    maxBodyBytes: v.maxBodyBytes,
    keyRotationPeriodMs: v.keyRotationPeriod,
    jwksMaxAgeMs: v.jwksMaxAge,
    tlsCert: v.tlsCert,
    tlsKey: v.tlsKey,
    trustProxy: v.trustProxy,
    clientRps: v.clientRps,
    clientBurst: v.clientBurst ?? Math.max(1, 2 * v.clientRps),
    ipRps: v.ipRps,
    ipBurst: v.ipBurst ?? Math.max(1, 2 * v.ipRps),
    authFailureLimit: v.authFailureLimit,
    authFailureAddressLimit: v.authFailureAddressLimit,
    revocationLimit: v.revocationLimit,
    revocationWindowMs: v.revocationWindow,
    authFailureWindowMs: v.authFailureWindow,
    maxHeaderBytes: v.maxHeaderBytes,
    maxMessageBytes: v.maxMessageBytes,
    maxDeadlineMs: v.maxDeadline,
    requestTimeoutMs: v.requestTimeout,
    maxConcurrentStreams: v.maxConcurrentStreams,
    maxHealthWatches: v.maxHealthWatches,
    idleTimeoutMs: v.idleTimeout,
    shutdownGraceMs: v.shutdownGrace,
    workers: v.workers,
    clientCacheSize: v.clientCacheSize,
    dbNotify: v.dbNotify,
    dbOutageGraceMs: v.dbOutageGrace,
    metricsAddr: v.metricsAddr,
    kek: kekFromEnv(env),
    maxAssertionLifetimeMs: v.maxAssertionLifetime,
    allowInsecureJwksUriLoopback: v.allowInsecureJwksUriLoopback,
    jwksCaFile: v.jwksCaFile,
  });
}

/** The value of a setting from the environment and the variable it came from (empty counts as unset). */
export function settingFromEnv(key: keyof typeof SETTINGS, env: NodeJS.ProcessEnv): { value: string; name: string } | undefined {
  const s: Setting = SETTINGS[key];
  for (const name of s.envAlias === undefined ? [s.env] : [s.env, s.envAlias]) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, name };
  }
  return undefined;
}

/** Where a setting's value comes from, as messages name it: `--db`, `TESSERA_DB` or the default. */
export function settingSource(key: keyof typeof SETTINGS, flags: RawSettings, env: NodeJS.ProcessEnv): string {
  if (flags[key] !== undefined) return `--${SETTINGS[key].flag}`;
  const s: Setting = SETTINGS[key];
  return settingFromEnv(key, env)?.name ?? s.defWhere ?? `the default of --${s.flag}`;
}

function int(min: number, max: number, what: string): Parse<number> {
  return (raw, where) => {
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${where} must be ${what} (got ${JSON.stringify(raw)}).`);
    return n;
  };
}

/** A duration (see parseDuration: 90, 90s, 15m, 12h, 30d), in ms. */
function duration(min: number, max: number, what: string): Parse<number> {
  return (raw, where) => {
    const ms = parseDuration(raw);
    if (ms === undefined || ms < min || ms > max) throw new ConfigError(`${where} must be ${what} (got ${JSON.stringify(raw)}).`);
    return ms;
  };
}

// A URL is kept as written (the PostgreSQL adapter parses it, and refuses a bad one with the
// password redacted); a path is resolved once, here, so every message and log line shows the
// file actually used rather than a path relative to a working directory nobody sees.
function databaseSetting(raw: string, where: string): string {
  if (raw.trim() === "") throw new ConfigError(`${where} must be a file path or a postgres:// URL.`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1];
  if (scheme === undefined) return resolve(raw);
  // Only the scheme is repeated: the rest of a URL may hold a password.
  if (!/^postgres(ql)?$/i.test(scheme))
    throw new ConfigError(`${where} must be a SQLite file path or a postgres:// URL (got a ${scheme}:// URL).`);
  return raw;
}

function onOff(raw: string, where: string): boolean {
  if (raw !== "on" && raw !== "off") throw new ConfigError(`${where} must be on or off (got ${JSON.stringify(raw)}).`);
  return raw === "on";
}

function bool(raw: string, where: string): boolean {
  if (raw === "true" || raw === "false") return raw === "true";
  throw new ConfigError(`${where} must be true or false (got ${JSON.stringify(raw)}).`);
}

function oneOf<T extends string>(values: readonly T[]): Parse<T> {
  const isOne = (raw: string): raw is T => (values as readonly string[]).includes(raw);
  return (raw, where) => {
    if (!isOne(raw)) throw new ConfigError(`${where} must be one of ${values.join(", ")} (got ${JSON.stringify(raw)}).`);
    return raw;
  };
}

function alg(raw: string, where: string): SigningAlg {
  if (!isSigningAlg(raw)) throw new ConfigError(`${where} must be one of ${SIGNING_ALGS.join(", ")} (got ${JSON.stringify(raw)}).`);
  return raw;
}

/** host:port, with an IPv6 host in brackets ([::1]:9464). */
function hostPort(raw: string, where: string): { host: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(raw) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (host === undefined || !(port <= 65535) || (host.includes(":") && isIP(host) !== 6)) {
    throw new ConfigError(`${where} must be a host and port such as 127.0.0.1:9464 or [::1]:9464 (got ${JSON.stringify(raw)}).`);
  }
  return { host, port };
}

function readableFile(raw: string, where: string): string {
  if (!existsSync(raw)) throw new ConfigError(`${where} names ${JSON.stringify(raw)}, which does not exist.`);
  return raw;
}

function pemCertificates(raw: string, where: string): string {
  readableFile(raw, where);
  let text: string;
  try {
    text = readFileSync(raw, "utf8");
  } catch (err) {
    throw new ConfigError(
      `${where} names ${JSON.stringify(raw)}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    throw new ConfigError(`${where} names ${JSON.stringify(raw)}, which holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  return raw;
}

function ipList(raw: string, where: string): string[] {
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const ip of list) {
    if (isIP(ip) === 0) throw new ConfigError(`${where} must be a comma-separated list of proxy IP addresses (got ${JSON.stringify(ip)}).`);
  }
  return list;
}

// RFC 8414 §2: the issuer is an http(s) URL with no query or fragment.
function issuerUrl(issuer: string, where: string): string {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new ConfigError(`${where} must be an absolute URL such as https://auth.example.com (got ${JSON.stringify(issuer)}).`);
  }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.search !== "" || u.hash !== "" || issuer.includes("#")) {
    throw new ConfigError(`${where} must be an http or https URL without query or fragment (got ${JSON.stringify(issuer)}).`);
  }
  return issuer;
}
