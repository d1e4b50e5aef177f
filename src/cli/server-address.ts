import { SETTINGS, settingFromEnv } from "../config.js";

/**
 * The server the CLI talks to when --server is not given: TESSERA_SERVER, else the local
 * server on the port `tessera serve` would use with the same environment (TESSERA_PORT or
 * PORT, else 8080), so both sides agree without being told twice.
 */
export function defaultServer(env: NodeJS.ProcessEnv): string {
  if (env.TESSERA_SERVER) return env.TESSERA_SERVER;
  return `http://localhost:${settingFromEnv("port", env)?.value ?? SETTINGS.port.def}`;
}

/** How messages name what chooses the server: a flag, or the variable its default comes from. */
export const SERVER_SETTING = "--server or TESSERA_SERVER";

/** Help text of every --server option (commander adds the effective default). */
export const SERVER_HELP = `Tessera server URL (env TESSERA_SERVER; else http://localhost on TESSERA_PORT or PORT, as tessera serve reads them, else ${SETTINGS.port.def})`;

/** The server could not be reached at all; the message names the address and how to change it. */
export class ServerUnreachableError extends Error {
  override readonly name = "ServerUnreachableError";

  constructor(server: string, reason: string) {
    super(
      `Cannot reach a Tessera server at ${server} (${reason}). Start one with \`tessera serve\`, or point the CLI at yours with --server URL or TESSERA_SERVER.`,
    );
  }
}

// System errors that mean nothing answered at that address.
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name does not resolve",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  // An https:// URL for a server without TLS: what answered is plain HTTP.
  ERR_SSL_WRONG_VERSION_NUMBER: "it does not answer TLS; a server without TLS has an http:// URL",
};

/** Why `err` (a transport failure, possibly wrapped) means the server was not reached, or undefined. */
export function unreachableReason(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && UNREACHABLE[code]) return UNREACHABLE[code];
    for (const [c, reason] of Object.entries(UNREACHABLE)) if (e.message.includes(c)) return reason;
  }
  return undefined;
}
