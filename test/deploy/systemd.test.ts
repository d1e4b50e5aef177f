import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ENV_ONLY_SETTINGS, SETTINGS, type Setting } from "../../src/config.js";
import { startTessera } from "../helpers/tessera-process.js";

// deploy/tessera.service and deploy/tessera.env, checked by systemd's own tools and by
// starting the real server with the settings they give it.

const DEPLOY = fileURLToPath(new URL("../../deploy/", import.meta.url));
const UNIT = readFileSync(join(DEPLOY, "tessera.service"), "utf8");
const ENV_FILE = readFileSync(join(DEPLOY, "tessera.env"), "utf8");
const SYSTEM_UNITS = "/usr/lib/systemd/system";

const hasAnalyze = spawnSync("systemd-analyze", ["--version"], { stdio: "ignore" }).status === 0 && existsSync(SYSTEM_UNITS);
const skip = hasAnalyze ? false : "SKIPPED: systemd-analyze (package systemd) is missing, so the unit file is not verified";
if (skip) console.log(skip);

let root: string | undefined;
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A throw-away filesystem root with systemd's units, the unit file and its ExecStart binary, for offline checks. */
function unitRoot(): string {
  if (root) return root;
  root = mkdtempSync(join(tmpdir(), "tessera-systemd-"));
  cpSync(SYSTEM_UNITS, join(root, SYSTEM_UNITS), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
  copyFileSync(join(DEPLOY, "tessera.service"), join(root, "etc/systemd/system/tessera.service"));
  const execStart = /^ExecStart=(\S+)/m.exec(UNIT)![1]!;
  mkdirSync(join(root, execStart, ".."), { recursive: true });
  writeFileSync(join(root, execStart), "#!/bin/sh\n", { mode: 0o755 });
  return root;
}

/** `Key=value` lines of the [Service] section. */
function directives(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const m of UNIT.matchAll(/^([A-Za-z]+)=(.*)$/gm)) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
  return map;
}

describe("deploy/tessera.service", () => {
  it.skipIf(skip)("passes `systemd-analyze verify` without a single warning", () => {
    const r = spawnSync("systemd-analyze", ["verify", `--root=${unitRoot()}`, "tessera.service"], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(skip)("rates as well hardened by `systemd-analyze security` (exposure at most 2.0 of 10)", () => {
    const r = spawnSync("systemd-analyze", ["security", "--offline=yes", `--root=${unitRoot()}`, "--no-pager", "tessera.service"], {
      encoding: "utf8",
    });
    const m = /Overall exposure level for tessera\.service: (\d+\.\d)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    console.log(`systemd-analyze security: exposure ${m![1]} for tessera.service`);
    expect(Number(m![1])).toBeLessThanOrEqual(2.0);
  });

  it("runs as its own user in a private 0700 state directory, with the usual hardening", () => {
    const d = directives();
    for (const [key, value] of [
      ["DynamicUser", "yes"],
      ["StateDirectory", "tessera"],
      ["StateDirectoryMode", "0700"],
      ["ProtectSystem", "strict"],
      ["NoNewPrivileges", "yes"],
      ["ProtectHome", "yes"],
      ["PrivateTmp", "yes"],
      ["PrivateDevices", "yes"],
      ["CapabilityBoundingSet", ""],
      ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"],
      ["SystemCallFilter", "@system-service"],
      ["UMask", "0077"],
      ["Environment", "TESSERA_DB=%S/tessera/tessera.db"],
      ["RestartPreventExitStatus", "2"],
    ] as const) {
      expect(d.get(key), key).toContain(value);
    }
    // V8's JIT needs writable and executable memory: this one would stop Node at start.
    expect(d.has("MemoryDenyWriteExecute")).toBe(false);
  });
});

describe("deploy/tessera.env", () => {
  const known = new Set([
    ...(Object.values(SETTINGS) as Setting[]).flatMap((s) => [s.env, s.envAlias]),
    ...ENV_ONLY_SETTINGS.map((s) => s.env),
  ]);
  const active = [...ENV_FILE.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!] as const);

  it("names only variables tessera serve reads, set or commented out", () => {
    const all = [...ENV_FILE.matchAll(/^#?([A-Z][A-Z_]+)=/gm)].map((m) => m[1]!);
    expect(all.length).toBeGreaterThan(5);
    expect(all.filter((v) => !known.has(v))).toEqual([]);
    const unitVars = directives()
      .get("Environment")!
      .map((e) => e.split("=")[0]!);
    expect(unitVars.filter((v) => !known.has(v))).toEqual([]);
  });

  it("is accepted by the real server: it starts with exactly those settings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-env-file-"));
    try {
      const kek = join(dir, "kek");
      writeFileSync(kek, Buffer.alloc(32, 7).toString("base64"), { mode: 0o600 });
      // The unit's own variables, with its paths moved into the temporary folder; the port
      // is the only thing changed (the flag wins over TESSERA_PORT), so the test cannot collide.
      const env: Record<string, string> = { ...Object.fromEntries(active), TESSERA_DB: join(dir, "tessera.db"), TESSERA_KEK_FILE: kek };
      const server = await startTessera({ host: null, env });
      expect(await server.stop()).toEqual({ code: 0, signal: null });
      const config = server.logs.find((l) => l.msg === "configuration")?.config as Record<string, unknown>;
      expect(config.issuer).toBe(env.TESSERA_ISSUER);
      expect(config.host).toBe(env.TESSERA_HOST);
      expect(config.trustProxy).toEqual([env.TESSERA_TRUST_PROXY]);
      expect(config.logFormat).toBe("json");
      expect(config.kek).toMatch(/^configured/);
      expect(server.listening.db).toBe(env.TESSERA_DB);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
