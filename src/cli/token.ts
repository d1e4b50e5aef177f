import { parseArgs } from "node:util";
import { DEFAULT_SERVER } from "./admin-client.js";
import { UsageError } from "./usage.js";

/** Thrown when the token endpoint refuses; main prints it and exits 1. */
export class TokenRequestError extends Error {
  override readonly name = "TokenRequestError";
}

/** `tessera token`: the seed's `my-cli login`, getting a token as CLIENT_ID / CLIENT_SECRET. */
export async function tokenCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: "string" },
      scope: { type: "string" },
      audience: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const clientId = env.CLIENT_ID;
  const clientSecret = env.CLIENT_SECRET;
  if (!clientId || !clientSecret) throw new UsageError("Set CLIENT_ID and CLIENT_SECRET to the client's credentials.");
  const server = (values.server ?? env.TESSERA_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, "");
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (values.scope) form.set("scope", values.scope);
  for (const a of values.audience ?? []) form.append("audience", a);
  // RFC 6749 Appendix B: form-urlencode each part before Basic.
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
  const res = await fetch(`${server}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: form,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    throw new TokenRequestError(`token request failed (${res.status}): ${String(body.error ?? "unknown")}: ${String(body.error_description ?? "")}`);
  }
  process.stdout.write(values.json ? JSON.stringify(body, null, 2) + "\n" : `${String(body.access_token)}\n`);
}
