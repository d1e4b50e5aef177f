import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { type RunningServer, startServer } from "../../src/compose/start-server.js";
import { loadConfig } from "../../src/config.js";
import { ADMIN_SCOPE } from "../../src/core/admin-auth.js";
import { ClientAdminCore, type NewClientInput } from "../../src/core/client-admin.js";
import { type Clock, systemClock } from "../../src/core/clock.js";

/** A real Tessera on a free loopback port with its own SQLite file. */
export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  issuer: string;
  dbPath: string;
  running: RunningServer;
  /** Creates a client directly in the database; returns its credentials. */
  createClient(input?: Partial<NewClientInput>): Promise<{ clientId: string; clientSecret: string }>;
  /** Credentials of an admin client (scope tessera:admin), created on first use. */
  admin(): Promise<{ clientId: string; clientSecret: string }>;
  stop(): Promise<void>;
}

/** Starts the real server (same startServer() as `tessera serve`) on port 0; it logs nothing unless given `log`. */
export async function startTestServer(
  opts: { alg?: string; clock?: Clock; dbPath?: string; env?: NodeJS.ProcessEnv; log?: Logger } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-test-"));
  const dbPath = opts.dbPath ?? join(dir, "tessera.db");
  // The issuer is fixed before the port is known; tests read it from here.
  const issuer = "http://tessera.test";
  const config = loadConfig({ port: "0", host: "127.0.0.1", db: dbPath, issuer, alg: opts.alg ?? "ES256" }, opts.env ?? {});
  const clock = opts.clock ?? systemClock;
  const running = await startServer(config, opts.log ?? pino({ level: "silent" }), clock);
  const core = new ClientAdminCore(running.storage, clock);
  let admin: { clientId: string; clientSecret: string } | undefined;
  const createClient = async (input: Partial<NewClientInput> = {}) => {
    const { client, clientSecret } = await core.create({
      clientId: input.clientId ?? "",
      name: input.name ?? "test client",
      scopes: input.scopes ?? ["read", "write"],
      audiences: input.audiences ?? [],
      tokenTtlSeconds: input.tokenTtlSeconds,
    });
    return { clientId: client.clientId, clientSecret };
  };
  return {
    url: `http://127.0.0.1:${running.address.port}`,
    port: running.address.port,
    issuer,
    dbPath,
    running,
    createClient,
    async admin() {
      admin ??= await createClient({ name: "admin", scopes: [ADMIN_SCOPE] });
      return admin;
    },
    async stop() {
      await running.stop();
      if (!opts.dbPath) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `Basic` header value with RFC 6749 Appendix B encoding. */
export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString("base64")}`;
}

function formEncode(s: string): string {
  return new URLSearchParams({ x: s }).toString().slice(2);
}
