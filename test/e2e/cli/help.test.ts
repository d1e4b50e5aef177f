import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../../src/cli/program.js";
import { SETTINGS, type Setting } from "../../../src/config.js";
import {
  bootstrap,
  type Credentials,
  runTessera,
  startTessera,
  TESSERA_BIN,
  type TesseraProcess,
  tempDir,
} from "../../helpers/tessera-process.js";

const VERSION = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The subcommands a help text lists under "Commands:". */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:\n/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
}

describe("tessera --help, -h and --version", () => {
  it("every command and subcommand answers --help and -h on stdout with exit 0", async () => {
    const seen: string[] = [];
    const visit = async (path: string[]) => {
      for (const flag of ["--help", "-h"]) {
        const r = await runTessera([...path, flag]);
        expect(r.code, `${path.join(" ")} ${flag}: ${r.stderr}`).toBe(0);
        expect(r.stderr).toBe("");
        expect(r.stdout).toContain(`Usage: tessera${path.map((p) => ` ${p}`).join("")}`);
        if (flag === "-h") continue;
        seen.push(path.join(" "));
        for (const sub of commandsIn(r.stdout)) await visit([...path, sub]);
      }
    };
    await visit([]);
    expect(seen).toEqual(
      expect.arrayContaining([
        "",
        "serve",
        "bootstrap",
        "clients",
        "clients create",
        "clients delete",
        "clients revoke-tokens",
        "keys rewrap",
        "audit",
        "backup",
        "token",
      ]),
    );
    expect(seen).toEqual(expect.arrayContaining(["clients keys add", "clients federation add", "clients test-assertion"]));
    expect(seen.length).toBeGreaterThanOrEqual(18);
    // Two processes per command, one after another: on a busy machine that takes a while.
  }, 90_000);

  it("serve --help lists every setting with its environment variable and default, from the settings table", async () => {
    const r = await runTessera(["serve", "--help"]);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, " "); // help wraps long lines
    for (const s of Object.values(SETTINGS) as Setting[]) {
      expect(text).toContain(`--${s.flag} <${s.arg}>`);
      expect(text).toContain(`env ${s.env}${s.envAlias ? ` or ${s.envAlias}` : ""}; default ${s.defText ?? s.def})`);
    }
    expect(text).toContain("TESSERA_KEK_FILE");
  });

  it("the other commands show their variables and defaults too", async () => {
    const clients = (await runTessera(["clients", "list", "--help"], { env: { PORT: "9911" } })).stdout.replace(/\s+/g, " ");
    expect(clients).toContain("env TESSERA_SERVER");
    expect(clients).toContain('(default: "http://localhost:9911")');
    expect(clients).toContain("TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET");
    const boot = (await runTessera(["bootstrap", "--help"])).stdout.replace(/\s+/g, " ");
    expect(boot).toContain("SQLite database file or postgres:// URL (env TESSERA_DB or DATABASE_URL; default ./data/tessera.db");
    expect(boot).toContain("--create-dir");
    const token = (await runTessera(["token", "-h"])).stdout.replace(/\s+/g, " ");
    expect(token).toContain("CLIENT_ID and CLIENT_SECRET, or CLIENT_SECRET_FILE");
    for (const v of ["env CLIENT_KEY_FILE", "env CLIENT_KEY_ID", "env CLIENT_ASSERTION_FILE", "env TESSERA_ISSUER"])
      expect(token).toContain(v);
    const generate = (await runTessera(["keys", "generate-client-key", "-h"])).stdout.replace(/\s+/g, " ");
    expect(generate).toContain('--alg <alg> signing algorithm (choices: "ES256", "EdDSA", "RS256", "PS256", default: "ES256")');
  });

  it("--version and -v print the package version", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await runTessera([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
  });

  it("no command at all: the help on stderr and exit 2", async () => {
    const r = await runTessera([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Usage: tessera");
  });
});

describe("mistakes on the command line", () => {
  it("an unknown option or command close to a real one gets 'did you mean', one line, exit 2", async () => {
    for (const [args, expected] of [
      [["serve", "--prot", "8080"], "tessera serve: unknown option '--prot' (did you mean --port?)"],
      [["serv"], "tessera: unknown command 'serv' (did you mean serve?)"],
      [["clients", "creat", "--name", "x"], "tessera clients: unknown command 'creat' (did you mean create?)"],
      [["clients", "rotate-secret", "tcl_x", "--grase", "1h"], "(did you mean --grace?)"],
    ] as const) {
      const r = await runTessera([...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(expected);
      expect(r.stderr).toMatch(/See `tessera[a-z -]*--help`\.$/m);
    }
    const far = await runTessera(["serve", "--zzzzzz"]);
    expect(far.code).toBe(2);
    expect(far.stderr).not.toContain("did you mean");
  });

  it("a misspelt mandatory option is reported as unknown (with the right spelling), not as missing, on every command that has one", async () => {
    for (const [args, expected] of [
      [
        ["clients", "create", "--nme", "x"],
        "tessera clients create: unknown option '--nme' (did you mean --name?) See `tessera clients create --help`.\n",
      ],
      [
        ["keys", "generate-client-key", "--ot", "k.jwk"],
        "tessera keys generate-client-key: unknown option '--ot' (did you mean --out?) See `tessera keys generate-client-key --help`.\n",
      ],
    ] as const) {
      const r = await runTessera([...args], {
        env: { TESSERA_CLIENT_ID: "x", TESSERA_CLIENT_SECRET: "y", TESSERA_SERVER: "http://127.0.0.1:9" },
      });
      expect([r.code, r.stderr]).toEqual([2, expected]);
    }
    // Left out altogether, a mandatory option is still missing.
    const missing = await runTessera(["clients", "create", "--scope", "read"]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      "tessera clients create: required option '--name <name>' not specified. See `tessera clients create --help`.\n",
    ]);
  });

  it("on every command, an unknown option is reported first: before a missing mandatory option or argument", async () => {
    // The command tree as the program builds it, so a command added later is checked too.
    const leaves: string[] = [];
    const walk = (cmd: Command, path: string) => {
      if (cmd.commands.length === 0) leaves.push(path);
      for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`.trim());
    };
    walk(buildProgram({ env: {}, version: VERSION, keepRunning: () => {} }), "");
    expect(leaves).toEqual(expect.arrayContaining(["clients create", "clients update", "keys generate-client-key", "backup", "token"]));
    for (let i = 0; i < leaves.length; i += 4) {
      await Promise.all(
        leaves.slice(i, i + 4).map(async (path) => {
          const r = await runTessera([...path.split(" "), "--zz-unknown"]);
          expect([r.code, r.stderr], path).toEqual([
            2,
            `tessera ${path}: unknown option '--zz-unknown'. See \`tessera ${path} --help\`.\n`,
          ]);
        }),
      );
    }
  });

  it("durations and counts that do not parse are usage errors naming the flag", async () => {
    for (const [args, needle] of [
      [["clients", "create", "--name", "x", "--ttl", "ten minutes"], "option '--ttl <duration>' argument 'ten minutes' is invalid"],
      [["clients", "create", "--name", "x", "--ttl", "1500ms"], "whole seconds"],
      [["clients", "rotate-secret", "tcl_x", "--grace", "1y"], "option '--grace <duration>'"],
      [["clients", "list", "--page-size", "10m"], "option '--page-size <count>' argument '10m' is invalid"],
      [["clients", "list", "--page-size", "0"], "a whole number from 1"],
      [["audit", "--page-size", "-3"], "--page-size"],
    ] as const) {
      const r = await runTessera([...args], { env: { TESSERA_CLIENT_ID: "x", TESSERA_CLIENT_SECRET: "y" } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(needle);
    }
  });
});

describe("durations and counts against a real server", () => {
  let dir: string;
  let server: TesseraProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = tempDir("cli-durations");
    const db = join(dir, "tessera.db");
    server = await startTessera({ db });
    const admin: Credentials = await bootstrap(db);
    env = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret, TESSERA_SERVER: server.url };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("--ttl 10m and --grace 1h are accepted as serve accepts 30d; --page-size is a count", async () => {
    const created = await runTessera(["clients", "create", "--name", "dur", "--ttl", "10m", "--json"], { env });
    expect(created.code, created.stderr).toBe(0);
    const c = JSON.parse(created.stdout) as { client_id: string; client: { token_ttl: string } };
    expect(c.client.token_ttl).toBe("600s");

    const updated = await runTessera(["clients", "update", c.client_id, "--ttl", "2h", "--json"], { env });
    expect(JSON.parse(updated.stdout).token_ttl).toBe("7200s");

    const before = Date.now();
    const rotated = await runTessera(["clients", "rotate-secret", c.client_id, "--grace", "1h", "--json"], { env });
    const after = Date.now();
    expect(rotated.code, rotated.stderr).toBe(0);
    const secrets = (JSON.parse(rotated.stdout) as { client: { secrets: { expire_time?: string }[] } }).client.secrets;
    const expiring = secrets.map((s) => s.expire_time).filter((t): t is string => t !== undefined);
    expect(expiring).toHaveLength(1);
    // An hour after the moment the server rotated it, which lies between before and after
    // (the answer shows whole seconds: a second of rounding either way).
    const expiresAt = Date.parse(expiring[0]!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000 + 1000);

    const page = await runTessera(["clients", "list", "--page-size", "1", "--json"], { env });
    const p = JSON.parse(page.stdout) as { clients: unknown[]; next_page_token: string };
    expect(p.clients).toHaveLength(1);
    expect(p.next_page_token).not.toBe("");
  });
});

describe("shell completion", () => {
  const complete = (words: string[]) => {
    const script = `source <(${JSON.stringify(process.execPath)} ${JSON.stringify(TESSERA_BIN)} completion)
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(" ")}); COMP_CWORD=${words.length - 1}; _tessera; echo "\${COMPREPLY[*]}"`;
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim().split(" ");
  };

  it("bash completes commands, subcommands and each command's own flags", () => {
    expect(complete(["tessera", "cl"])).toEqual(["clients"]);
    expect(complete(["tessera", "clients", "r"])).toEqual(["rotate-secret", "revoke-tokens"]);
    expect(complete(["tessera", "serve", "--log-"])).toEqual(["--log-level", "--log-format"]);
    expect(complete(["tessera", "clients", "delete", "tcl_x", "--y"])).toEqual(["--yes"]);
    expect(complete(["tessera", "bootstrap", "--cr"])).toEqual(["--create-dir"]);
  });
});
