// A nightly batch job: authenticate, fetch data, process it. Credentials come from
// CLIENT_ID and CLIENT_SECRET (or CLIENT_SECRET_FILE), the token service from TESSERA_SERVER.
//
//   TESSERA_SERVER=http://localhost:8080 API_URL=http://localhost:3000 npx tsx examples/batch-job.ts
import { TokenClient, TokenError } from "tessera-oauth/client";

const tokens = new TokenClient({ scope: "read", audience: process.env.API_AUDIENCE });
try {
  // Token, Bearer header, one retry on 401: all inside fetch.
  const res = await tokens.fetch(`${process.env.API_URL ?? "http://localhost:3000"}/api/resource`);
  if (!res.ok) throw new Error(`the API answered ${res.status}`);
  const data = (await res.json()) as { resources: string[] };
  const processed = data.resources.map((r) => r.toUpperCase());
  console.log(JSON.stringify({ processed: processed.length, items: processed }));
} catch (err) {
  // TokenError messages say what to fix ("Check CLIENT_ID and CLIENT_SECRET.") and never hold secrets.
  console.error(`batch job failed: ${(err as Error).message}`);
  process.exitCode = err instanceof TokenError ? 3 : 1;
} finally {
  await tokens.close();
}
