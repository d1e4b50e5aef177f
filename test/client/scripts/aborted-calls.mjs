// Calls getToken with a signal that has already fired (CASE=pre-aborted), or after close()
// (CASE=after-close), with the built SDK, and prints what the call threw as one JSON line.
// The process must live to print it: a request started anyway and left rejected without a
// handler would end it first.
import { TokenClient } from "../../../dist/src/client/index.js";

const tokens = new TokenClient({
  server: process.env.TESSERA_SERVER,
  transport: process.env.TRANSPORT ?? "http",
  clientId: "tcl_script",
  clientSecret: "tsec_script",
});
let call;
if (process.env.CASE === "pre-aborted") {
  call = tokens.getToken({ signal: AbortSignal.abort() });
} else {
  await tokens.close();
  call = tokens.getToken();
}
const outcome = await call.then(
  () => "resolved",
  (err) => ({ name: err?.name, code: err?.code, message: err?.message }),
);
// A rejection nobody handles ends the process within a few event-loop turns; give it the chance.
await new Promise((resolve) => setTimeout(resolve, 300));
console.log(JSON.stringify(outcome));
await tokens.close();
