import { rmSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, bearer, type CallFailure, opsClient, unary } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// Crash safety: a `tessera serve` process is killed with SIGKILL (no shutdown code runs) while
// several admin writes are in flight. Whatever the server acknowledged must be in the file
// afterwards, complete; whatever it did not may be there or not, but never half.

const ROUNDS = 8;
const WRITERS = 4;
/** Acknowledged writes before the kill in `round`: from 5 to 40, so kills land at different points. */
const ackedBeforeKill = (round: number) => 5 + ((round * 13) % 36);

let dir: string;
let db: string;
let admin: Credentials;
let current: TesseraProcess | undefined;

beforeAll(async () => {
  dir = tempDir("crash");
  db = join(dir, "tessera.db");
  admin = await bootstrap(db);
});
afterAll(async () => {
  await current?.stop("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface ClientRow {
  client_id: string;
  name: string | null;
  scopes: string | null;
  audiences: string | null;
  token_ttl_seconds: number | null;
  disabled: number | null;
  create_time: number | null;
  update_time: number | null;
}

/** Opens the file as the next process would (WAL recovery included) and checks every row. */
function inspect(): { integrity: unknown; clients: Map<string, ClientRow>; withoutSecret: string[]; withoutAudit: string[] } {
  const file = new Database(db);
  try {
    const integrity = file.pragma("integrity_check", { simple: true });
    const rows = file.prepare("SELECT * FROM clients").all() as ClientRow[];
    const withoutSecret = (
      file.prepare("SELECT client_id FROM clients WHERE client_id NOT IN (SELECT client_id FROM client_secrets)").all() as {
        client_id: string;
      }[]
    ).map((r) => r.client_id);
    // The audit event is written in the same transaction as the client.
    const withoutAudit = (
      file
        .prepare("SELECT client_id FROM clients WHERE client_id NOT IN (SELECT target FROM audit_events WHERE action = 'client.create')")
        .all() as { client_id: string }[]
    ).map((r) => r.client_id);
    return { integrity, clients: new Map(rows.map((r) => [r.client_id, r])), withoutSecret, withoutAudit };
  } finally {
    file.close();
  }
}

describe("SIGKILL while admin writes are in flight", () => {
  it(`loses no acknowledged write and leaves no half-written client, over ${ROUNDS} kills`, async () => {
    const acknowledged: { id: string; name: string; scopes: string[] }[] = [];
    let inFlightAtKill = 0;
    for (let round = 0; round < ROUNDS; round++) {
      current = await startTessera({ db, args: ["--issuer", "http://tessera.crash.test"] });
      const target = `127.0.0.1:${current.port}`;
      const tokens = opsClient("TokenService", target);
      const admins: grpc.Client[] = [opsClient("ClientAdmin", target), opsClient("ClientAdmin", target)];
      try {
        const md = bearer(await adminToken(tokens, admin));

        // Every write acknowledged before the previous kill is readable through the new process.
        for (const a of acknowledged.slice(-12)) {
          const got = await unary<{ client: { client_id: string; name: string; scopes: string[]; secrets: unknown[] } }>(
            admins[0]!,
            "GetClient",
            { client_id: a.id },
            md,
          );
          expect(got.client.name).toBe(a.name);
          expect(got.client.scopes).toEqual(a.scopes);
          expect(got.client.secrets).toHaveLength(1);
        }

        // Kill after a number of acknowledged writes that varies by round, the moment the last
        // of them arrives: the other writers have their next write in flight then.
        const killAfter = ackedBeforeKill(round);
        let ackedThisRound = 0;
        let killed = false;
        let inFlight = 0;
        const unexpected: string[] = [];
        const server = current;
        const writer = async (w: number) => {
          for (let i = 0; !killed; i++) {
            const id = `crash-r${round}-w${w}-${i}`;
            const req = {
              client_id: id,
              name: `crash ${round}/${w}/${i}`,
              scopes: [`s${w}`, "read"],
              audiences: [`https://api${i}.example`],
            };
            inFlight++;
            try {
              await unary(admins[w % admins.length]!, "CreateClient", req, md);
              // A reply that arrives is an acknowledgement, even after the kill signal was sent.
              acknowledged.push({ id, name: req.name, scopes: req.scopes });
              if (++ackedThisRound === killAfter) {
                killed = true;
                inFlightAtKill += inFlight - 1; // the other writers' calls, this one is answered
                server.child.kill("SIGKILL");
              }
            } catch (err) {
              // The process died under the call: UNAVAILABLE (connection lost) is the only expected failure.
              if ((err as CallFailure).code !== 14) unexpected.push(`${id}: ${JSON.stringify(err)}`);
              return;
            } finally {
              inFlight--;
            }
          }
        };
        // Each writer stops at the kill (its call fails UNAVAILABLE) or at a failure of its own.
        await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
        expect(unexpected).toEqual([]);
        expect(killed).toBe(true);
        expect(await current.exited).toEqual({ code: null, signal: "SIGKILL" });
      } finally {
        for (const c of [tokens, ...admins]) c.close();
      }

      const state = inspect();
      expect(state.integrity).toBe("ok");
      expect(state.withoutSecret).toEqual([]);
      expect(state.withoutAudit).toEqual([]);
      for (const a of acknowledged) expect(state.clients.has(a.id), `acknowledged ${a.id} is missing after round ${round}`).toBe(true);
      for (const row of state.clients.values()) {
        for (const [k, v] of Object.entries(row)) {
          // Unset until used: a cut-off time, and the jwks_uri of a private_key_jwt client.
          if (k !== "tokens_not_before" && k !== "jwks_uri") expect(v, `${row.client_id}.${k}`).not.toBeNull();
        }
        expect(Array.isArray(JSON.parse(row.scopes!))).toBe(true);
        expect(Array.isArray(JSON.parse(row.audiences!))).toBe(true);
      }
    }
    console.log(`crash test: ${acknowledged.length} acknowledged writes, ${inFlightAtKill} in flight at the kills`);
    // The test only means something if it killed the server with writes in flight.
    expect(inFlightAtKill).toBeGreaterThanOrEqual(ROUNDS * (WRITERS - 1));
  }, 120_000); // eight server starts, each seconds long on a loaded machine
});
