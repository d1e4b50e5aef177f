// A script that gets one token with the built SDK, as a user's script would, and reports what
// happened on stdout as one JSON line. AWAIT=top awaits at top level; AWAIT=function starts an
// async main() without awaiting it. TOKEN_CLIENT_OPTIONS (JSON) is merged into the options.
import { TokenClient, TokenError } from "../../../dist/src/client/index.js";

const options = JSON.parse(process.env.TOKEN_CLIENT_OPTIONS ?? "{}");

async function main() {
  const tokens = new TokenClient({ clientId: "tcl_script", clientSecret: "tsec_script", ...options });
  try {
    const token = await tokens.getToken();
    console.log(JSON.stringify({ token }));
  } catch (err) {
    console.log(
      JSON.stringify({ caught: err instanceof TokenError ? err.code : String(err), attempts: err.attempts, message: err.message }),
    );
    process.exitCode = 3;
  } finally {
    await tokens.close();
  }
}

if (process.env.AWAIT === "top") await main();
else void main();
