// A call from one microservice to another, in parallel: an orders service calls the
// inventory API ten times at once. One
// token serves them all; it is renewed in the background before it expires.
//
//   TESSERA_SERVER=http://localhost:8080 TESSERA_TRANSPORT=grpc API_URL=http://localhost:3000 npx tsx examples/microservice.ts
import { TokenClient, TokenError, TokenMetricsRecorder } from "tessera-oauth/client";

/** A client of the inventory API: only what is specific to inventory; the SDK does the rest. */
class InventoryClient {
  constructor(
    private readonly tokens: TokenClient,
    private readonly baseUrl: string,
  ) {}

  /** GET /api/resource as this service. */
  async resources(): Promise<string[]> {
    const res = await this.tokens.fetch(`${this.baseUrl}/api/resource`);
    if (!res.ok) throw new Error(`inventory answered ${res.status}`);
    return ((await res.json()) as { resources: string[] }).resources;
  }
}

const env = process.env;
const metrics = new TokenMetricsRecorder();
const tokens = new TokenClient({
  transport: env.TESSERA_TRANSPORT === "grpc" ? "grpc" : "http",
  scope: "read",
  audience: env.API_AUDIENCE,
  backgroundRefresh: true,
  metrics,
});
const inventory = new InventoryClient(tokens, env.API_URL ?? "http://localhost:3000");

try {
  const answers = await Promise.all(Array.from({ length: 10 }, () => inventory.resources()));
  const { requests, cacheHits, latencyMs } = metrics.snapshot();
  console.log(JSON.stringify({ calls: answers.length, tokenRequests: requests, cacheHits, tokenLatencyP99Ms: latencyMs.p99 }));
} catch (err) {
  // One line that says what failed (a TokenError says what to fix); a non-zero exit for the scheduler.
  console.error(`orders service failed: ${(err as Error).message}`);
  process.exitCode = err instanceof TokenError ? 3 : 1;
} finally {
  await tokens.close();
}
