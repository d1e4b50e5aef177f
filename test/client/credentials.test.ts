import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ClientCredentials, resolveCredentials } from "../../src/client/credentials.js";
import { ClientConfigError } from "../../src/client/errors.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function secretFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tessera-secret-"));
  dirs.push(dir);
  const path = join(dir, "client-secret");
  writeFileSync(path, content);
  return path;
}

describe("resolveCredentials", () => {
  it("prefers the caller's credentials over the environment", () => {
    const c = resolveCredentials({ clientId: "mine", clientSecret: "s1", env: { CLIENT_ID: "env", CLIENT_SECRET: "s2" } })();
    expect([c.clientId, c.revealSecret()]).toEqual(["mine", "s1"]);
  });

  it("reads CLIENT_ID and CLIENT_SECRET", () => {
    const c = resolveCredentials({ env: { CLIENT_ID: "id", CLIENT_SECRET: "sec" } })();
    expect([c.clientId, c.revealSecret()]).toEqual(["id", "sec"]);
  });

  it("reads CLIENT_SECRET_FILE without its trailing newline, and re-reads it after rotation", () => {
    const path = secretFile("tsec_old\n");
    const provider = resolveCredentials({ env: { CLIENT_ID: "id", CLIENT_SECRET_FILE: path } });
    expect(provider().revealSecret()).toBe("tsec_old");
    writeFileSync(path, "tsec_new\r\n");
    expect(provider().revealSecret()).toBe("tsec_new");
  });

  it("explains what to set when something is missing or ambiguous", () => {
    const cases: Array<[NodeJS.ProcessEnv, string]> = [
      [{}, "No client id: pass credentials or set CLIENT_ID."],
      [{ CLIENT_ID: "id" }, "No client secret: pass credentials, or set CLIENT_SECRET or CLIENT_SECRET_FILE."],
      [{ CLIENT_ID: "id", CLIENT_SECRET: "a", CLIENT_SECRET_FILE: "/x" }, "Both CLIENT_SECRET and CLIENT_SECRET_FILE are set; set only one."],
      [{ CLIENT_ID: "id", CLIENT_SECRET_FILE: "/nonexistent/secret" }, "CLIENT_SECRET_FILE /nonexistent/secret could not be read (ENOENT)."],
      [{ CLIENT_ID: "id", CLIENT_SECRET_FILE: secretFile("\n") }, `CLIENT_SECRET_FILE ${dirs.at(-1)}/client-secret is empty.`],
    ];
    for (const [env, message] of cases) {
      expect(() => resolveCredentials({ env })).toThrow(new ClientConfigError(message));
    }
  });
});

describe("ClientCredentials", () => {
  const c = new ClientCredentials("tcl_x", "tsec_TOPSECRET");

  it("never shows the secret when logged, stringified or interpolated", () => {
    for (const shown of [JSON.stringify(c), JSON.stringify({ nested: { c } }), inspect(c), inspect({ c }, { depth: 9, showHidden: true }), `${c}`]) {
      expect(shown).not.toContain("TOPSECRET");
      expect(shown).toContain("tcl_x");
    }
  });

  it("redacts the secret from text that came from elsewhere", () => {
    expect(c.redact("echo tsec_TOPSECRET back")).toBe("echo [redacted] back");
  });
});
