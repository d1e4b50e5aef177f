import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postForm } from "../../helpers/http.js";
import {
  bootstrap,
  hasScript,
  killTerminals,
  runTessera,
  startTessera,
  type TesseraProcess,
  tempDir,
  tesseraInTerminal,
} from "../../helpers/tessera-process.js";

// Output for a person where a person reads it: on a real pseudo-terminal (util-linux
// `script`), as opposed to a pipe, which is what scripts and log collectors read.

const noScript = hasScript() ? false : "SKIPPED: util-linux `script` is missing (apt-get install util-linux)";
if (noScript) console.log(noScript);

let dir: string;
let server: TesseraProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dir = tempDir("cli-terminal");
  const db = join(dir, "tessera.db");
  server = await startTessera({ db });
  const admin = await bootstrap(db);
  env = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret, TESSERA_SERVER: server.url };
});

afterAll(async () => {
  killTerminals();
  await server?.stop();
});

async function createClient(name: string, scope = "read"): Promise<{ client_id: string; client_secret: string }> {
  const r = await runTessera(["clients", "create", "--name", name, "--scope", scope, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { client_id: string; client_secret: string };
}

const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r/g, "");

describe.skipIf(noScript)("tessera serve logs", () => {
  it("on a terminal: pretty lines (level, message, absolute database path), and Ctrl-C stops it cleanly", async () => {
    const db = join(dir, "pretty", "tessera.db");
    const t = tesseraInTerminal(["serve", "--port", "0", "--host", "127.0.0.1", "--db", db]);
    const shown = plain(await t.waitFor(/tessera listening/));
    const line = shown.split("\n").find((l) => l.includes("tessera listening"))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: tessera listening \{.*"db":"/);
    expect(line).toContain(JSON.stringify(db));
    expect(shown).not.toMatch(/^\{"level"/m);
    await t.waitFor(/no clients yet/);
    t.type("\x03");
    expect(await t.exited).toBe(0);
    expect(plain(t.output())).toMatch(/INFO: shutting down \{"signal":"SIGINT"\}/);
  });

  it("into a pipe: one JSON object per line", async () => {
    // What a log collector reads: every line an object with a numeric level, a time and a message.
    const lines = server.output().trim().split("\n");
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines)
      expect(JSON.parse(l), l).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
  });

  it("--log-format and TESSERA_LOG_FORMAT choose either way", async () => {
    const piped = await startTessera({ db: join(dir, "fmt.db"), args: ["--log-format", "pretty"] });
    expect(await piped.stop()).toEqual({ code: 0, signal: null });
    expect(piped.listening.raw).toMatch(/^\[[\d:.]+\] INFO: tessera listening \{/); // no colour codes into a pipe

    const t = tesseraInTerminal(["serve", "--port", "0", "--host", "127.0.0.1", "--db", join(dir, "fmt-tty.db")], {
      env: { TESSERA_LOG_FORMAT: "json" },
    });
    const shown = plain(await t.waitFor(/tessera listening/));
    expect(shown).toMatch(/^\{"level":30,.*"msg":"tessera listening"\}$/m);
    t.type("\x03");
    expect(await t.exited).toBe(0);
  });
});

describe("lists have a header row", () => {
  it("clients list, keys list and audit", async () => {
    await createClient("listed");
    const first = async (args: string[]) => {
      const r = await runTessera(args, { env });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split("\n")[0]!.split(/\s{2,}/);
    };
    expect(await first(["clients", "list"])).toEqual(["CLIENT ID", "NAME", "STATUS", "SCOPES", "AUDIENCES"]);
    expect(await first(["keys", "list"])).toEqual(["KID", "ALG", "STATE", "CREATED", "SIGNING SINCE", "PUBLISHED UNTIL", "ENCRYPTED"]);
    expect(await first(["audit"])).toEqual(["TIME", "ACTOR", "ACTION", "TARGET", "FROM", "CHANGES"]);
    const rows = (await runTessera(["clients", "list"], { env })).stdout.trim().split("\n").slice(1);
    expect(rows.some((r) => /^tcl_\S+\s+listed\s+enabled\s+read\s+-$/.test(r))).toBe(true);
  });
});

describe("clients delete asks first", () => {
  const exists = async (id: string) => (await runTessera(["clients", "get", id], { env })).code === 0;

  it.skipIf(noScript)("on a terminal: 'n' keeps the client (exit 1), 'y' deletes it", async () => {
    const c = await createClient("to-delete");
    const no = tesseraInTerminal(["clients", "delete", c.client_id], { env });
    await no.waitFor(/Delete client tcl_\S+ \(to-delete\)\? .*\[y\/N\] /);
    no.type("n\r");
    expect(await no.exited).toBe(1);
    expect(plain(no.output())).toContain(`tessera: Client ${c.client_id} was not deleted.`);
    expect(await exists(c.client_id)).toBe(true);

    const yes = tesseraInTerminal(["clients", "delete", c.client_id], { env });
    await yes.waitFor(/\[y\/N\] /);
    yes.type("y\r");
    expect(await yes.exited).toBe(0);
    expect(plain(yes.output())).toContain(`Deleted client ${c.client_id}; its tokens are cut off.`);
    expect(await exists(c.client_id)).toBe(false);
  });

  it.skipIf(noScript)("on a terminal, --yes does not ask", async () => {
    const c = await createClient("yes-flag");
    const t = tesseraInTerminal(["clients", "delete", c.client_id, "--yes"], { env });
    expect(await t.exited).toBe(0);
    expect(plain(t.output())).not.toContain("[y/N]");
    expect(await exists(c.client_id)).toBe(false);
  });

  it("without a terminal and without --yes: refused in one sentence before contacting the server, exit 2", async () => {
    const c = await createClient("kept");
    const r = await runTessera(["clients", "delete", c.client_id], { env, input: "y\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("tessera: tessera clients delete asks for confirmation and no terminal is attached: pass --yes to confirm.\n");
    expect(await exists(c.client_id)).toBe(true);
    const offline = await runTessera(["clients", "delete", c.client_id], { env: { ...env, TESSERA_SERVER: "http://127.0.0.1:1" } });
    expect(offline.code).toBe(2);
    const confirmed = await runTessera(["clients", "delete", c.client_id, "--yes"], { env });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(await exists(c.client_id)).toBe(false);
  });
});

describe("clients revoke-tokens", () => {
  it("says what it did, and it did it: the earlier token is inactive, new ones are issued", async () => {
    const c = await createClient("leaky");
    const rs = await createClient("resource-server", "tessera:introspect");
    const token = async () => {
      const r = await postForm(`${server.url}/oauth/token`, {
        grant_type: "client_credentials",
        client_id: c.client_id,
        client_secret: c.client_secret,
      });
      expect(r.status).toBe(200);
      return r.body.access_token as string;
    };
    const active = async (t: string) =>
      (await postForm(`${server.url}/oauth/introspect`, { token: t, client_id: rs.client_id, client_secret: rs.client_secret })).body
        .active;
    const before = await token();
    expect(await active(before)).toBe(true);

    const r = await runTessera(["clients", "revoke-tokens", c.client_id], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Cut off every token issued to ${c.client_id} \\(leaky\\) before \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: introspection now answers active:false`,
      ),
    );
    expect(r.stdout).toContain("at most 3600s");
    expect(r.stdout).toContain("new tokens are issued as usual");
    expect(r.stdout).not.toContain(c.client_secret);

    expect(await active(before)).toBe(false);
    expect(await active(await token())).toBe(true);
  });
});
