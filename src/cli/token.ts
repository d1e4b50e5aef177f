import { ClientConfigError, TokenClient, TokenError } from "../client/index.js";
import { SERVER_SETTING, ServerUnreachableError, unreachableReason } from "./server-address.js";
import { UsageError } from "./usage.js";

/** Options of `tessera token`. */
export interface TokenOptions {
  server: string;
  scope?: string;
  audience?: string[];
  key?: string;
  keyId?: string;
  assertionFile?: string;
  issuer?: string;
  json?: boolean;
}

/** The SDK's messages name these flags, not its own options. */
const FLAG_LABELS = {
  server: SERVER_SETTING,
  issuer: "--issuer or TESSERA_ISSUER",
  privateKeyFile: "--key",
  keyId: "--key-id",
  assertionFile: "--assertion-file",
} as const;

// Each of these variables is a way to authenticate without a flag.
const CREDENTIAL_VARS = ["CLIENT_SECRET", "CLIENT_SECRET_FILE", "CLIENT_KEY_FILE", "CLIENT_ASSERTION_FILE"] as const;

/** `tessera token`: gets a token as the client in CLIENT_ID (with a secret, --key or --assertion-file) through the SDK. */
export async function tokenCommand(values: TokenOptions, env: NodeJS.ProcessEnv): Promise<void> {
  // Said here in the command line's terms: the SDK's own sentences tell a program to pass options.
  if (!env.CLIENT_ID) throw new UsageError("No client id: set CLIENT_ID to the client to get a token as.");
  if (values.key === undefined && values.assertionFile === undefined && !CREDENTIAL_VARS.some((v) => env[v])) {
    throw new UsageError(
      `No client credentials: give --key or --assertion-file, or set ${CREDENTIAL_VARS.slice(0, -1).join(", ")} or ${CREDENTIAL_VARS.at(-1)}.`,
    );
  }
  let tokens: TokenClient;
  try {
    tokens = new TokenClient({
      server: values.server,
      env,
      privateKeyFile: values.key,
      keyId: values.keyId,
      assertionFile: values.assertionFile,
      issuer: values.issuer,
      optionLabels: FLAG_LABELS,
      // A person is waiting: retry briefly, not for the SDK's default budget.
      retry: { maxElapsedMs: 5_000 },
    });
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
    process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : `${t.accessToken}\n`);
  } catch (err) {
    // Nothing answered: name the address tried and how to point the CLI elsewhere.
    if (!(err instanceof TokenError && err.code === "network_error")) throw err;
    throw new ServerUnreachableError(values.server, unreachableReason(err) ?? err.description);
  } finally {
    await tokens.close();
  }
}
