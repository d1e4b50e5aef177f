import { ClientConfigError } from "./errors.js";

// user:password@ in the authority of an absolute URL, or at the start of a scheme-less one.
const USERINFO = /^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[^/?#@]*@/i;

/** `url` with any user:password@ replaced, for messages. */
export function redactUrlCredentials(url: string): string {
  return url.replace(USERINFO, "$1[redacted]@");
}

/**
 * Refuses a URL with credentials in it (https://user:pass@host): the client authenticates with
 * its id and secret, and a URL ends up in error messages and logs. `from` names where it came from.
 */
export function refuseUrlCredentials(url: string, from: string): void {
  if (!URL.canParse(url)) return;
  const { username, password } = new URL(url);
  if (username === "" && password === "") return;
  throw new ClientConfigError(
    `The URL in ${from} must not contain credentials (${JSON.stringify(redactUrlCredentials(url))}); pass clientId and clientSecret, or set CLIENT_ID and CLIENT_SECRET.`,
  );
}

/**
 * Tessera's base URL as given by `from` (the option or TESSERA_SERVER), checked before any
 * request: an http:// or https:// URL without credentials (see serverUrlProblem). Returns it
 * without trailing slashes.
 */
export function serverBaseUrl(server: string, from: string): string {
  refuseUrlCredentials(server, from);
  const problem = serverUrlProblem(server, from);
  if (problem !== undefined) throw new ClientConfigError(problem);
  return server.replace(/\/+$/, "");
}

/**
 * Why `server` cannot be Tessera's base URL, in a sentence naming `from`, or undefined. A bare
 * "localhost:8080" parses as a URL with the scheme "localhost:", so it is refused here rather
 * than failing every request as a network error; a query or fragment would end up in the
 * middle of every endpoint's path. Any credentials in it are not repeated.
 */
export function serverUrlProblem(server: string, from: string): string | undefined {
  const url = URL.canParse(server) ? new URL(server) : undefined;
  const shown = JSON.stringify(redactUrlCredentials(server));
  if (url?.protocol !== "http:" && url?.protocol !== "https:") {
    const hint = /^[^:/?#]+:\d+(\/|$)/.test(server) ? `; did you mean ${JSON.stringify(`http://${redactUrlCredentials(server)}`)}?` : ".";
    return `The server (${from}) must be an http:// or https:// URL such as http://localhost:8080, not ${shown}${hint}`;
  }
  if (/[?#]/.test(server))
    return `The server (${from}) must be Tessera's base URL without a query or fragment, such as https://auth.example.com, not ${shown}.`;
  return undefined;
}
