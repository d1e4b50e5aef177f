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
// A request started anyway would hold a connection (or a name lookup) until it failed, and its
// rejection, left without a handler, would end the process in the turn after: wait until no
// connection is left, then one turn more.
while (process.getActiveResourcesInfo().some((r) => /TCP|GetAddrInfo/.test(r))) await new Promise((resolve) => setTimeout(resolve, 10));
await new Promise((resolve) => setImmediate(resolve));
console.log(JSON.stringify(outcome));
await tokens.close();
