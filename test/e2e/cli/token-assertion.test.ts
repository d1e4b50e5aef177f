import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { calculateJwkThumbprint, type JWK, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type AssertionStub, startAssertionStub } from "../../helpers/assertion-stub-server.js";
import { CLIENT_ALGS, type TestClientKey, tempFiles, testClientKey } from "../../helpers/client-keys.js";
import { closedPort } from "../../helpers/stub-token-server.js";
import { type RunResult, runTessera } from "../../helpers/tessera-process.js";

// `tessera token --key` / `--assertion-file` and `tessera keys generate-client-key` as a user
// runs them: the real command (bin/tessera on dist/) in a child process, against a token
// endpoint on loopback that verifies every assertion as RFC 7523 requires.

const DIST = fileURLToPath(new URL("../../../dist/src/cli/main.js", import.meta.url));
const CLIENT = "tcl_cli";
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

vi.setConfig({ testTimeout: 30_000 });

let files: ReturnType<typeof tempFiles>;
let key: TestClientKey;
let platformKey: TestClientKey;
let stub: AssertionStub;

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) before the CLI tests");
  key = await testClientKey("ES256");
  platformKey = await testClientKey("RS256");
  stub = await startAssertionStub({
    clientId: CLIENT,
    keys: [key.publicJwk],
    platform: {
      issuer: "https://kubernetes.default.svc",
      jwks: { keys: [platformKey.publicJwk] },
      subject: "system:serviceaccount:billing:api",
    },
  });
});
afterAll(() => stub?.close());
beforeEach(() => {
  files = tempFiles("tessera-cli-keys-");
});
afterEach(() => files.cleanup());

function token(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runTessera(["token", "--server", stub.url, ...args], { env: { CLIENT_ID: CLIENT, ...env } });
}

/** Exit `code`, nothing on stdout, one line on stderr equal to `line`. */
function expectFailure(r: RunResult, code: number, line: string): void {
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code, stdout: "", stderr: `${line}\n` });
}

function kubernetesToken(audience: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", kid: platformKey.kid })
    .setIssuer("https://kubernetes.default.svc")
    .setSubject("system:serviceaccount:billing:api")
    .setAudience(audience)
    .setIssuedAt()
    .setJti(randomUUID()) // RS256 signatures are deterministic: without it, two tokens of one second are the same
    .setExpirationTime("10m")
    .sign(platformKey.privateKey);
}

describe("tessera token --key", () => {
  it("signs an assertion with the key file, the issuer learned from the server, and prints the token", async () => {
    const before = stub.accepted.length;
    const r = await token(["--key", files.write("client.jwk", JSON.stringify(key.privateJwk))]);
    expect([r.code, r.stderr, r.stdout]).toEqual([0, "", `stub-token-${stub.tokenRequests}\n`]);
    const sent = stub.accepted.slice(before);
    expect(sent.map((a) => [a.kind, a.header.kid, a.payload.iss, a.payload.aud])).toEqual([
      ["private_key_jwt", key.kid, CLIENT, stub.issuer],
    ]);
  });

  it("takes a PEM key, the key id from --key-id, and CLIENT_KEY_FILE when no flag is given", async () => {
    const pem = files.write("client.pem", key.privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const withKid = await token(["--key", pem, "--key-id", key.kid, "--json"]);
    expect(withKid.code, withKid.stderr).toBe(0);
    expect(JSON.parse(withKid.stdout)).toMatchObject({
      token_type: "Bearer",
      access_token: expect.stringMatching(/^stub-token-/) as string,
    });
    // Without --key-id a PEM key's kid is its thumbprint, which is how the key was registered.
    const fromEnv = await token([], { CLIENT_KEY_FILE: pem });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(stub.accepted.at(-1)!.header.kid).toBe(key.kid);
  });

  it("a refused assertion: exit 1, one line with the server's reason and the key file, no key or assertion in it", async () => {
    const other = await testClientKey("ES256");
    const path = files.write("other.jwk", JSON.stringify(other.privateJwk));
    const r = await token(["--key", path]);
    expectFailure(
      r,
      1,
      `tessera: invalid_client: The token service refused the signed client assertion: unknown kid. Check CLIENT_ID and the private key in --key (${path}), and that its public key is registered for the client.`,
    );
    for (const secret of [String(other.privateJwk.d), ...stub.received]) expect(r.stderr).not.toContain(secret);
  });

  it("mistakes are usage errors (exit 2) that name the flag", async () => {
    const jwk = files.write("client.jwk", JSON.stringify(key.privateJwk));
    const secretJwk = files.write("hmac.jwk", JSON.stringify({ kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQ", alg: "HS256" }));
    expectFailure(
      await token(["--key", join(files.dir, "missing.jwk")]),
      2,
      `tessera: --key ${files.dir}/missing.jwk could not be read (ENOENT).`,
    );
    expectFailure(
      await token(["--key", secretJwk]),
      2,
      `tessera: --key ${secretJwk} is a symmetric key (kty oct): client assertions are signed with a private key (ES256, EdDSA, RS256, PS256), never with a shared secret.`,
    );
    expectFailure(
      await token(["--key", jwk, "--assertion-file", jwk]),
      2,
      "tessera token: option '--key <file>' cannot be used with option '--assertion-file <file>'. See `tessera token --help`.",
    );
    expectFailure(
      await token(["--key-id", "k1"], { CLIENT_SECRET: "tsec_x" }),
      2,
      "tessera: --key-id names a key, but no private key is given.",
    );
    // A flag wins over the environment: --key is used even where CLIENT_SECRET is set.
    const flagWins = await token(["--key", jwk], { CLIENT_SECRET: "tsec_x" });
    expect(flagWins.code, flagWins.stderr).toBe(0);
  });

  it("no client id, or no credential at all: a usage error in the command line's terms (flags and variables)", async () => {
    expectFailure(
      await runTessera(["token", "--server", stub.url, "--key", "client.jwk"], { cwd: files.dir }),
      2,
      "tessera: No client id: set CLIENT_ID to the client to get a token as.",
    );
    const none =
      "tessera: No client credentials: give --key or --assertion-file, or set CLIENT_SECRET, CLIENT_SECRET_FILE, CLIENT_KEY_FILE or CLIENT_ASSERTION_FILE.";
    expectFailure(await token([]), 2, none);
    expectFailure(await token(["--key-id", "k1"]), 2, none);
  });

  it("a server whose metadata names another issuer: exit 2, saying to give --issuer; with it, the token", async () => {
    const elsewhere = await startAssertionStub({ clientId: CLIENT, keys: [key.publicJwk], issuer: () => "https://tessera.example.com" });
    try {
      const jwk = files.write("client.jwk", JSON.stringify(key.privateJwk));
      const r = await runTessera(["token", "--server", elsewhere.url, "--key", jwk], { env: { CLIENT_ID: CLIENT } });
      expectFailure(
        r,
        2,
        `tessera: The server at ${elsewhere.url} says its issuer is "https://tessera.example.com", another address: a signed assertion is only made for an issuer reached at its own address or configured explicitly. If that is Tessera's issuer, set --issuer or TESSERA_ISSUER to Tessera's issuer.`,
      );
      expect(elsewhere.tokenRequests).toBe(0);
      const given = await runTessera(["token", "--server", elsewhere.url, "--key", jwk, "--issuer", "https://tessera.example.com"], {
        env: { CLIENT_ID: CLIENT },
      });
      expect([given.code, given.stderr]).toEqual([0, ""]);
      expect(elsewhere.accepted[0]!.payload.aud).toBe("https://tessera.example.com");
    } finally {
      await elsewhere.close();
    }
  });

  it("server down: the same one line as with a secret", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runTessera(["token", "--server", url, "--key", files.write("client.jwk", JSON.stringify(key.privateJwk))], {
      env: { CLIENT_ID: CLIENT },
    });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
    expect(r.stderr).toMatch(new RegExp(`^tessera: Cannot reach a Tessera server at ${url} \\(connection refused\\)\\..*\\n$`));
  });
});

describe("tessera token --assertion-file", () => {
  it("sends the platform token in the file, read again on every run, with CLIENT_ID", async () => {
    const path = files.write("token", `${await kubernetesToken(stub.issuer)}\n`);
    const first = await token(["--assertion-file", path]);
    expect([first.code, first.stderr]).toEqual([0, ""]);
    const rotated = await kubernetesToken(stub.issuer);
    writeFileSync(path, rotated);
    const second = await runTessera(["token", "--server", stub.url], { env: { CLIENT_ID: CLIENT, CLIENT_ASSERTION_FILE: path } });
    expect([second.code, second.stderr]).toEqual([0, ""]);
    expect(stub.accepted.at(-1)).toMatchObject({ kind: "platform_token", raw: rotated });
  });

  it("a token for another audience is refused: exit 1, the server's reason and the file, not the token", async () => {
    const misaimed = await kubernetesToken("https://elsewhere.example");
    const path = files.write("token", misaimed);
    const r = await token(["--assertion-file", path]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
    expect(r.stderr).toMatch(/^tessera: invalid_client: The token service refused the platform token: [^\n]*"aud"[^\n]*\n$/);
    expect(r.stderr).toContain(
      `Check CLIENT_ID and the platform token in --assertion-file (${path}), and that the client trusts this platform token (its federated credentials).`,
    );
    expect(r.stderr).not.toContain(misaimed.split(".")[2]!);
  });

  it("a file without a JWT in it is a usage error that does not show the file's content", async () => {
    const path = files.write("token", "tsec_this_is_a_secret_not_a_token\n");
    const r = await token(["--assertion-file", path]);
    expectFailure(r, 2, `tessera: --assertion-file ${path} does not hold a signed JWT (three base64url parts separated by dots).`);
  });
});

describe("tessera keys generate-client-key", () => {
  async function generate(args: string[]): Promise<RunResult> {
    return runTessera(["keys", "generate-client-key", ...args], { cwd: files.dir });
  }

  for (const alg of CLIENT_ALGS) {
    it(`${alg}: the private JWK to a 0600 file, the public JWK (kid = thumbprint, alg, use, no private member) to stdout; the pair gets a token`, async () => {
      const r = await generate(["--alg", alg, "--out", "client.jwk"]);
      expect(r.code, r.stderr).toBe(0);
      const path = join(files.dir, "client.jwk");
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const publicJwk = JSON.parse(r.stdout) as JWK;
      const privateJwk = JSON.parse(readFileSync(path, "utf8")) as JWK;
      for (const m of PRIVATE_MEMBERS) expect(publicJwk, m).not.toHaveProperty(m);
      expect(privateJwk.d).toEqual(expect.any(String));
      expect(publicJwk).toMatchObject({ alg, use: "sig", kid: await calculateJwkThumbprint(publicJwk) });
      expect(privateJwk).toMatchObject({ alg, use: "sig", kid: publicJwk.kid });
      expect(r.stderr).toBe(
        `Wrote the private key ${publicJwk.kid} (${alg}) to client.jwk, readable only by its owner. Register the public key below with the client (tessera clients keys add), then authenticate with --key client.jwk or CLIENT_KEY_FILE.\n`,
      );
      // What was printed is what a server registers: a token with the file that was written.
      const registered = await startAssertionStub({ clientId: CLIENT, keys: [publicJwk] });
      try {
        const t = await runTessera(["token", "--server", registered.url, "--key", path], { env: { CLIENT_ID: CLIENT } });
        expect([t.code, t.stderr]).toEqual([0, ""]);
        expect(registered.accepted[0]!.header).toEqual({ alg, kid: publicJwk.kid, typ: "client-authentication+jwt" });
      } finally {
        await registered.close();
      }
    });
  }

  it("refuses to overwrite a file unless --force, which replaces it with mode 0600 whatever the old file's mode", async () => {
    const path = files.write("client.jwk", "keep me\n");
    chmodSync(path, 0o644);
    expectFailure(
      await generate(["--out", "client.jwk"]),
      2,
      "tessera: client.jwk already exists; choose another --out, or pass --force to replace the key in it.",
    );
    expect(readFileSync(path, "utf8")).toBe("keep me\n");
    const forced = await generate(["--out", "client.jwk", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((JSON.parse(readFileSync(path, "utf8")) as JWK).kid).toBe((JSON.parse(forced.stdout) as JWK).kid);
  });

  it("usage errors: no --out, an algorithm it does not make, a folder that does not exist", async () => {
    expectFailure(
      await generate([]),
      2,
      "tessera keys generate-client-key: required option '--out <file>' not specified. See `tessera keys generate-client-key --help`.",
    );
    expectFailure(
      await generate(["--alg", "HS256", "--out", "k.jwk"]),
      2,
      "tessera keys generate-client-key: option '--alg <alg>' argument 'HS256' is invalid. Allowed choices are ES256, EdDSA, RS256, PS256. See `tessera keys generate-client-key --help`.",
    );
    expectFailure(await generate(["--out", "no/such/k.jwk"]), 2, "tessera: The folder of --out no/such/k.jwk does not exist.");
    expect(existsSync(join(files.dir, "k.jwk"))).toBe(false);
  });
});
