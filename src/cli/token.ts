import { parseArgs } from "node:util";
import { ClientConfigError, TokenClient } from "../client/index.js";
import { DEFAULT_SERVER } from "./admin-client.js";
import { UsageError } from "./usage.js";

/** `tessera token`: gets a token as CLIENT_ID / CLIENT_SECRET through the SDK and prints it. */
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
  let tokens: TokenClient;
  try {
    // A person is waiting: retry briefly, not for the SDK's default budget.
    tokens = new TokenClient({ server: values.server ?? env.TESSERA_SERVER ?? DEFAULT_SERVER, env, retry: { maxElapsedMs: 5_000 } });
  } catch (err) {
    if (err instanceof ClientConfigError) throw new UsageError(err.message);
    throw err;
  }
  try {
    const t = await tokens.getTokenDetails({ scope: values.scope, audience: values.audience });
    const body = {
      access_token: t.accessToken,
      token_type: "Bearer",
      expires_in: Math.floor((t.expiresAt - Date.now()) / 1000),
      ...(t.scope ? { scope: t.scope } : {}),
    };
    process.stdout.write(values.json ? JSON.stringify(body, null, 2) + "\n" : `${t.accessToken}\n`);
  } finally {
    await tokens.close();
  }
}
