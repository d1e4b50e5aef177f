import { isSigningAlg, SIGNING_ALGS, type SigningAlg } from "./keys/algorithms.js";
import { kekFromEnv, type Kek } from "./keys/key-encryption.js";

/** Validated settings of `tessera serve`. Each is a flag and an environment variable. */
export interface Config {
  /** --port / PORT: TCP port for every protocol. Default 8080, as in the seed document. */
  readonly port: number;
  /** --host / TESSERA_HOST: address to listen on. Default: all interfaces (Node's default). */
  readonly host: string | undefined;
  /** --db / TESSERA_DB: SQLite file, created with its folder. Default ./data/tessera.db. */
  readonly db: string;
  /** --issuer / TESSERA_ISSUER: the `iss` of every token and base of the metadata URLs. Default http://localhost:PORT. */
  readonly issuer: string;
  /** --alg / TESSERA_ALG: signing algorithm for new keys. Default ES256. */
  readonly alg: SigningAlg;
  /** --log-level / TESSERA_LOG_LEVEL: pino level. Default info. */
  readonly logLevel: string;
  /** --max-body-bytes / TESSERA_MAX_BODY_BYTES: largest accepted form body. Default 16384. */
  readonly maxBodyBytes: number;
  /** --key-rotation-period / TESSERA_KEY_ROTATION_PERIOD: how long a key signs. Default 30d. */
  readonly keyRotationPeriodMs: number;
  /**
   * --jwks-max-age / TESSERA_JWKS_MAX_AGE: how long verifiers may cache the JWKS. Default 15m.
   * A next key is published for twice this long before it signs.
   */
  readonly jwksMaxAgeMs: number;
  /** TESSERA_KEK or TESSERA_KEK_FILE (never a flag: flags show in `ps`): encrypts private keys at rest. */
  readonly kek: Kek | undefined;
}

/** A setting a person got wrong; the message is one sentence saying which and how to fix it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Raw values from flags (winning) and environment. */
export type RawSettings = Partial<
  Record<"port" | "host" | "db" | "issuer" | "alg" | "logLevel" | "maxBodyBytes" | "keyRotationPeriod" | "jwksMaxAge", string>
>;

const ENV: Record<keyof RawSettings, string> = {
  port: "PORT",
  host: "TESSERA_HOST",
  db: "TESSERA_DB",
  issuer: "TESSERA_ISSUER",
  alg: "TESSERA_ALG",
  logLevel: "TESSERA_LOG_LEVEL",
  maxBodyBytes: "TESSERA_MAX_BODY_BYTES",
  keyRotationPeriod: "TESSERA_KEY_ROTATION_PERIOD",
  jwksMaxAge: "TESSERA_JWKS_MAX_AGE",
};

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Merges flags over environment over defaults and checks every value. */
export function loadConfig(flags: RawSettings, env: NodeJS.ProcessEnv): Config {
  const get = (k: keyof RawSettings) => flags[k] ?? (env[ENV[k]] === "" ? undefined : env[ENV[k]]);
  const where = (k: keyof RawSettings) => (flags[k] !== undefined ? `--${kebab(k)}` : ENV[k]);

  const port = integer(get("port") ?? "8080", 0, 65535, `${where("port")} must be a port number from 0 to 65535`);
  const maxBodyBytes = integer(
    get("maxBodyBytes") ?? "16384",
    256,
    1 << 20,
    `${where("maxBodyBytes")} must be a whole number of bytes from 256 to 1048576`,
  );
  const alg = get("alg") ?? "ES256";
  if (!isSigningAlg(alg)) {
    throw new ConfigError(`${where("alg")} must be one of ${SIGNING_ALGS.join(", ")} (got ${JSON.stringify(alg)}).`);
  }
  const issuer = get("issuer") ?? `http://localhost:${port}`;
  checkIssuer(issuer, where("issuer"));
  const logLevel = get("logLevel") ?? "info";
  if (!LEVELS.includes(logLevel)) throw new ConfigError(`${where("logLevel")} must be one of ${LEVELS.join(", ")}.`);
  const db = get("db") ?? "./data/tessera.db";
  if (db.trim() === "") throw new ConfigError(`${where("db")} must be a file path.`);
  const jwksMaxAgeMs = duration(get("jwksMaxAge") ?? "15m", 10_000, 7 * DAY, `${where("jwksMaxAge")} must be a duration from 10s to 7d such as 15m`);
  const keyRotationPeriodMs = duration(
    get("keyRotationPeriod") ?? "30d",
    HOUR,
    365 * DAY,
    `${where("keyRotationPeriod")} must be a duration from 1h to 365d such as 30d`,
  );
  if (keyRotationPeriodMs < 4 * jwksMaxAgeMs) {
    throw new ConfigError(
      `${where("keyRotationPeriod")} must be at least four times ${where("jwksMaxAge")}, so each next key is published long enough before it signs.`,
    );
  }
  const kek = kekFromEnv(env);
  return Object.freeze({ port, host: get("host"), db, issuer, alg, logLevel, maxBodyBytes, keyRotationPeriodMs, jwksMaxAgeMs, kek });
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UNITS: Record<string, number> = { "": 1000, s: 1000, m: 60_000, h: HOUR, d: DAY };

/** A duration such as 90, 90s, 15m, 12h or 30d, in ms. */
function duration(raw: string, min: number, max: number, sentence: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(raw);
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!Number.isFinite(ms) || ms < min || ms > max) throw new ConfigError(`${sentence} (got ${JSON.stringify(raw)}).`);
  return ms;
}

function integer(raw: string, min: number, max: number, sentence: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${sentence} (got ${JSON.stringify(raw)}).`);
  return n;
}

// RFC 8414 §2: the issuer is an http(s) URL with no query or fragment.
function checkIssuer(issuer: string, where: string): void {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new ConfigError(`${where} must be an absolute URL such as https://auth.example.com (got ${JSON.stringify(issuer)}).`);
  }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.search !== "" || u.hash !== "" || issuer.includes("#")) {
    throw new ConfigError(`${where} must be an http or https URL without query or fragment (got ${JSON.stringify(issuer)}).`);
  }
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}
