/** The scope an access token needs for the admin API. */
export const ADMIN_SCOPE = "tessera:admin";

/**
 * A signed-in administrator: the access token, held in this object only (never written to
 * localStorage, sessionStorage or a cookie), and when it stops working.
 */
export interface Session {
  token: string;
  /** Client id of the admin, from the token endpoint or the token's claims; "" if unknown. */
  clientId: string;
  /** Milliseconds since the epoch when the token expires; undefined if it cannot be read. */
  expiresAt: number | undefined;
}

/** A sign-in refused, with the words to show and the field they belong to. */
export class SignInError extends Error {
  override readonly name = "SignInError";
  constructor(
    message: string,
    readonly field: "clientId" | "secret" | "token" | "form",
    /** The server's own description, shown under the message when there is one. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The sentence every refusal for a missing admin scope starts with. */
export const LACKS_ADMIN = `This client lacks ${ADMIN_SCOPE}, so it cannot use the console.`;

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

/**
 * Asks POST /oauth/token for an admin token with the client credentials grant (RFC 6749
 * §4.4). The secret is sent once and not kept.
 */
export async function signInWithSecret(clientId: string, secret: string, now = Date.now): Promise<Session> {
  if (clientId.trim() === "") throw new SignInError("Enter the client id.", "clientId");
  if (secret === "") throw new SignInError("Enter the client secret.", "secret");
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    scope: ADMIN_SCOPE,
    client_id: clientId.trim(),
    client_secret: secret,
  });
  let res: Response;
  try {
    res = await fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new SignInError("The server cannot be reached. Check that Tessera is running, then try again.", "form");
  }
  const started = now();
  let answer: TokenAnswer = {};
  try {
    answer = (await res.json()) as TokenAnswer;
  } catch {
    // Not JSON: a proxy's error page, say. Described by the status below.
  }
  if (res.ok && answer.access_token) {
    const granted = (answer.scope ?? ADMIN_SCOPE).split(" ");
    if (!granted.includes(ADMIN_SCOPE)) throw new SignInError(LACKS_ADMIN, "form");
    const ttl = typeof answer.expires_in === "number" ? answer.expires_in * 1000 : undefined;
    return { token: answer.access_token, clientId: clientId.trim(), expiresAt: ttl === undefined ? undefined : started + ttl };
  }
  throw refusal(res, answer);
}

/** Words for a refusal of the token endpoint (RFC 6749 §5.2 error codes). */
function refusal(res: Response, answer: TokenAnswer): SignInError {
  const detail = answer.error_description;
  switch (answer.error) {
    case "invalid_scope":
      return new SignInError(LACKS_ADMIN, "form", detail);
    case "invalid_client":
      return new SignInError("The client id or secret is wrong, or the client is disabled.", "secret", detail);
    case "temporarily_unavailable": {
      const wait = res.headers.get("retry-after");
      return new SignInError(`Too many attempts; wait ${wait ? `${wait} seconds` : "a while"} and try again.`, "form", detail);
    }
    default:
      return new SignInError(
        `The token endpoint refused the sign-in (HTTP ${res.status}${answer.error ? `, ${answer.error}` : ""}).`,
        "form",
        detail,
      );
  }
}

/**
 * A pasted access token. Its claims are read (not verified: the server verifies it on every
 * call) only to show who is signed in and when the token expires.
 */
export function sessionFromToken(pasted: string): Session {
  const token = pasted.trim().replace(/^bearer\s+/i, "");
  if (token === "") throw new SignInError("Paste an access token.", "token");
  const parts = token.split(".");
  if (parts.length !== 3) throw new SignInError("This is not an access token: a JWT has three parts separated by dots.", "token");
  let claims: { exp?: unknown; client_id?: unknown; sub?: unknown; scope?: unknown };
  try {
    const b64 = parts[1]!.replace(/-/g, "+").replace(/_/g, "/");
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))) as typeof claims;
  } catch {
    throw new SignInError("This is not an access token: its middle part is not base64url-encoded JSON.", "token");
  }
  if (typeof claims.scope === "string" && !claims.scope.split(" ").includes(ADMIN_SCOPE)) {
    throw new SignInError(LACKS_ADMIN, "token", `The token's scope is "${claims.scope}".`);
  }
  const who = typeof claims.client_id === "string" ? claims.client_id : typeof claims.sub === "string" ? claims.sub : "";
  const exp = typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  if (exp !== undefined && exp <= Date.now()) {
    throw new SignInError(
      `This token expired at ${new Date(exp).toLocaleString()}. Get a new one, or sign in with the client's id and secret.`,
      "token",
    );
  }
  return { token, clientId: who, expiresAt: exp };
}

/** Whether the session's token has expired at `now`. */
export function expired(session: Session, now = Date.now()): boolean {
  return session.expiresAt !== undefined && now >= session.expiresAt;
}
