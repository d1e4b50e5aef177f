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

  it("says where the id and secret came from, for the advice on invalid_client", () => {
    const path = secretFile("tsec_file");
    const cases: Array<[Parameters<typeof resolveCredentials>[0], string]> = [
      [{ clientId: "id", clientSecret: "s", env: {} }, "the clientId and clientSecret passed to TokenClient"],
      [{ clientSecret: "s", env: { CLIENT_ID: "id" } }, "CLIENT_ID and the clientSecret passed to TokenClient"],
      [{ env: { CLIENT_ID: "id", CLIENT_SECRET: "s" } }, "CLIENT_ID and CLIENT_SECRET"],
      [{ clientId: "id", env: { CLIENT_SECRET: "s" } }, "the clientId passed to TokenClient and CLIENT_SECRET"],
      [{ env: { CLIENT_ID: "id", CLIENT_SECRET_FILE: path } }, `CLIENT_ID and the secret in CLIENT_SECRET_FILE (${path})`],
    ];
    for (const [source, from] of cases) expect(resolveCredentials(source)().source).toBe(from);
  });

  it("explains what to set when something is missing or ambiguous", () => {
    const cases: Array<[NodeJS.ProcessEnv, string]> = [
      [{}, "No client id: pass credentials or set CLIENT_ID."],
      [{ CLIENT_ID: "id" }, "No client secret: pass credentials, or set CLIENT_SECRET or CLIENT_SECRET_FILE."],
      [
        { CLIENT_ID: "id", CLIENT_SECRET: "a", CLIENT_SECRET_FILE: "/x" },
        "Both CLIENT_SECRET and CLIENT_SECRET_FILE are set; set only one.",
      ],
      [
        { CLIENT_ID: "id", CLIENT_SECRET_FILE: "/nonexistent/secret" },
        "CLIENT_SECRET_FILE /nonexistent/secret could not be read (ENOENT).",
      ],
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
    for (const shown of [
      JSON.stringify(c),
      JSON.stringify({ nested: { c } }),
      inspect(c),
      inspect({ c }, { depth: 9, showHidden: true }),
      `${c}`,
    ]) {
      expect(shown).not.toContain("TOPSECRET");
      expect(shown).toContain("tcl_x");
    }
  });

  it("redacts the secret from text that came from elsewhere", () => {
    expect(c.redact("echo tsec_TOPSECRET back")).toBe("echo [redacted] back");
  });

  it("redacts a long secret wherever it appears, even inside a longer word", () => {
    const long = new ClientCredentials("tcl_x", "tsec_0123456789abcdef");
    expect(long.redact("x=tsec_0123456789abcdefXYZ and tsec_0123456789abcdef.")).toBe("x=[redacted]XYZ and [redacted].");
  });

  it("redacts a short secret where it stands on its own, without mangling ordinary words that contain it", () => {
    const short = new ClientCredentials("tcl_x", "ent");
    const text = "The client is not permitted to present ent; client_secret=ent, 'ent' (ent)";
    expect(short.redact(text)).toBe(
      "The client is not permitted to present [redacted]; client_secret=[redacted], '[redacted]' ([redacted])",
    );
    expect(short.redact("ent")).toBe("[redacted]");
    expect(short.redact("Entity, tent, entent")).toBe("Entity, tent, entent");
    const punct = new ClientCredentials("tcl_x", "a:b");
    expect(punct.redact("a:b and xa:by")).toBe("[redacted] and xa:by");
  });
});
