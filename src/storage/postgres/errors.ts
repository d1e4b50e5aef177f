import { StorageUnavailableError } from "../../core/ports/storage.js";

/** SQLSTATEs a transaction is retried on: serialization failure and deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);

/**
 * SQLSTATEs that mean "the database cannot serve this now" rather than "this request is wrong":
 * connection exceptions (08), out of disk, memory or connections (53), shutdown and start-up
 * (57P01-57P04), statement or lock timeouts (57014, 55P03), a read-only server (25006), I/O
 * errors (58), failed authentication (28) and a missing database (3D000).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[1-4]|57014|55P03|25006|58...|28...|3D000)$/;

/** Node's socket and TLS error codes that mean the server cannot be reached or trusted. */
const UNAVAILABLE_NODE_CODE =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ENOENT|EACCES|ERR_TLS_.*|ERR_SSL_.*|CERT_.*|UNABLE_TO_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SOCKET_.*)$/;

/** pg's own connection failures carry no code, only these messages. */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|The server does not support SSL|There was an error establishing an SSL connection|Cannot use a pool after calling end|Client was closed|SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string)/;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Whether a failed transaction may simply be run again (serialization failure, deadlock). */
export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(codeOf(err) ?? "");
}

/**
 * Whether `err` means the connection itself is gone (socket error, server ended the session):
 * a transaction that had not sent COMMIT was rolled back by the server and may run again.
 */
export function isConnectionLost(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && (/^(08...|57P0[1-3])$/.test(code) || UNAVAILABLE_NODE_CODE.test(code))) return true;
  return err instanceof Error && /^(Connection terminated|Client has encountered a connection error|Query read timeout)/.test(err.message);
}

/** Whether `err` says the database is unreachable, shutting down, full, read-only or refusing us. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StorageUnavailableError) return true;
  const code = codeOf(err);
  if (code !== undefined && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODE.test(code))) return true;
  return err instanceof Error && UNAVAILABLE_MESSAGE.test(err.message);
}

/** A short reason for a connection or server failure, in words an operator acts on. */
export function describeFailure(err: unknown): string {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused: is PostgreSQL running and listening there?";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name cannot be resolved";
    case "ENOENT":
      return "no server socket in that folder: is PostgreSQL running?";
    case "57P01":
    case "57P02":
      return `the server is shutting down (${code})`;
    case "57P03":
      return "the server is starting up or shutting down (57P03)";
    case "53100":
      return "the server's disk is full (53100)";
    case "53300":
      return "the server has no connection slot left (53300): lower the pool size or raise max_connections";
    case "25006":
      return "the server is read-only (25006): a standby, or default_transaction_read_only is on";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `the server's certificate is not valid for this host name (sslmode=verify-full checks it): ${message}`;
  }
  if (code !== undefined && /^(UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|CERT_)/.test(code)) {
    return `the server's certificate is not trusted (${code}): check sslrootcert`;
  }
  if (/^(timeout exceeded when trying to connect|Connection terminated due to connection timeout)/.test(message)) {
    return "no answer within the connect timeout";
  }
  if (message.includes("client password must be a string")) return "the server asks for a password and the database URL gives none";
  if (message.startsWith("Connection terminated")) return "the connection was closed by the server or the network";
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}

/**
 * The error to throw for `err` from the database at `where` (a redacted URL): unavailability
 * becomes a StorageUnavailableError naming the database, anything else is returned unchanged.
 * `secret` (the password) is scrubbed from the message in case a server or library echoed it.
 */
export function storageError(err: unknown, where: string, secret?: string): unknown {
  if (err instanceof StorageUnavailableError || !isUnavailable(err)) return err;
  let reason = describeFailure(err);
  if (secret !== undefined && secret.length >= 4) reason = reason.replaceAll(secret, "****");
  const code = codeOf(err);
  // The cause is a plain copy: pg's error objects can hold a reference to the connection. It
  // keeps the driver's own words (loggers print "message: cause"), the reason being in the message.
  let raw = err instanceof Error && err.message !== "" ? err.message : reason;
  if (secret !== undefined && secret.length >= 4) raw = raw.replaceAll(secret, "****");
  const cause = Object.assign(new Error(raw), code === undefined ? {} : { code });
  return new StorageUnavailableError(`the database ${where} is unavailable: ${reason}`, { cause });
}
