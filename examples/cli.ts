// A command-line tool that logs in and prints tokens, built on the SDK:
//
//   $ npx tsx examples/cli.ts login
//   Authenticating...
//   ✓ Authenticated successfully as tcl_… (scope: read write; token valid for 60 minutes)
//   $ TOKEN=$(npx tsx examples/cli.ts token --scope read)
//
// Credentials from CLIENT_ID and CLIENT_SECRET (or CLIENT_SECRET_FILE); --server or TESSERA_SERVER.
import { parseArgs } from "node:util";
import { ClientConfigError, TokenClient, TokenError } from "tessera-oauth/client";

const USAGE = 'usage: cli.ts login | token [--scope "a b"] [--audience URL]... [--server URL] [--json]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      server: { type: "string" },
      scope: { type: "string" },
      audience: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  // A CLI run is short: no point retrying for long while a person waits.
  const tokens = new TokenClient({
    server: values.server ?? process.env.TESSERA_SERVER ?? "http://localhost:8080",
    retry: { maxElapsedMs: 5_000 },
  });
  const wanted = { scope: values.scope, audience: values.audience };
  try {
    if (command === "login") {
      console.log("Authenticating...");
      const t = await tokens.getTokenDetails(wanted);
      const minutes = Math.round((t.expiresAt - Date.now()) / 60_000);
      console.log(
        `✓ Authenticated successfully as ${process.env.CLIENT_ID} (scope: ${t.scope ?? "none"}; token valid for ${minutes} minutes)`,
      );
      return 0;
    }
    if (command === "token") {
      const t = await tokens.getTokenDetails(wanted);
      const expiresIn = Math.floor((t.expiresAt - Date.now()) / 1000);
      // Printing the token is this command's purpose: it goes to stdout for `$(...)`, nowhere else.
      console.log(
        values.json
          ? JSON.stringify({ access_token: t.accessToken, token_type: "Bearer", expires_in: expiresIn, scope: t.scope }, null, 2)
          : t.accessToken,
      );
      return 0;
    }
    console.error(USAGE);
    return 2;
  } finally {
    await tokens.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    if (err instanceof ClientConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`✗ ${(err as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof TokenError) {
      console.error(`✗ ${err.message}`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  },
);
