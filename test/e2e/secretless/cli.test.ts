import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAssertion, newKey, type TestKey } from "../../helpers/key-issuer.js";
import { type RunResult, runTessera, startTessera, type TesseraProcess } from "../../helpers/tessera-process.js";

// `tessera clients keys|federation|test-assertion` as a person runs them: the real command
// against a real `tessera serve`, keys made in the test, JWKs and JWTs on stdin and in files.

const issuer = "http://tessera.cli-secretless.test";
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
let dir: string;
let server: TesseraProcess;
let env: Record<string, string>;
let key: TestKey;

/** `tessera ARGS` against the server, as the admin, with `input` on stdin. */
function tessera(args: string[], input?: string): Promise<RunResult> {
  return runTessera(args, { env: { TESSERA_SERVER: server.url, ...env }, ...(input === undefined ? {} : { input }), timeoutMs: 20_000 });
}

function json<T = Record<string, unknown>>(r: { code: number | null; stdout: string; stderr: string }): T {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function token(assertion: string, clientId?: string): Promise<number> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    // A connection per request: the CLI runs in between take seconds, and an idle keep-alive
    // connection the server closes meanwhile would race with the next request.
    headers: { "content-type": "application/x-www-form-urlencoded", connection: "close" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      ...(clientId ? { client_id: clientId } : {}),
    }),
  });
  await res.body?.cancel();
  return res.status;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-cli-secretless-"));
  const db = join(dir, "tessera.db");
  server = await startTessera({ db, args: ["--issuer", issuer] });
  const boot = await runTessera(["bootstrap", "--db", db]);
  const admin = JSON.parse(boot.stdout) as { client_id: string; client_secret: string };
  env = { TESSERA_CLIENT_ID: admin.client_id, TESSERA_CLIENT_SECRET: admin.client_secret };
  key = await newKey("ES256");
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("tessera clients keys", () => {
  it("create a keys-only client, add its public JWK from stdin, list, use, remove", async () => {
    const created = json<{ client_id: string; client_secret: string; client: { auth_method: string } }>(
      await tessera(["clients", "create", "--name", "worker", "--scope", "read", "--auth-method", "private_key_jwt", "--json"]),
    );
    const id = created.client_id;
    expect(created.client.auth_method).toBe("private_key_jwt");
    expect(created).not.toHaveProperty("client_secret");

    const added = await tessera(["clients", "keys", "add", id, "-"], JSON.stringify(key.jwk));
    expect([added.code, added.stderr, added.stdout]).toEqual([
      0,
      "",
      `Added key ${key.kid} to client ${id}: assertions signed with it authenticate the client.\n`,
    ]);
    const listed = json<{ keys: { kid: string; jwk: Record<string, unknown> }[] }>(
      await tessera(["clients", "keys", "list", id, "--json"]),
    );
    expect(listed.keys).toEqual([expect.objectContaining({ kid: key.kid, jwk: expect.objectContaining({ kty: "EC", alg: "ES256" }) })]);
    expect((await tessera(["clients", "keys", "list", id])).stdout).toMatch(
      new RegExp(`^KID +KTY +ALG +ADDED\n${key.kid.replace(/[-]/g, "\\-")} +EC +ES256 +\\d{4}-`),
    );

    expect(await token(await clientAssertion(key, id, issuer))).toBe(200);
    // A kid may begin with "-": it goes after "--".
    const removed = await tessera(["clients", "keys", "remove", id, "--", key.kid]);
    expect([removed.code, removed.stderr]).toEqual([0, ""]);
    expect(await token(await clientAssertion(key, id, issuer))).toBe(401);
    const again = await tessera(["clients", "keys", "remove", id, "--", key.kid]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^tessera: not_found: client .* has no key with kid/);
  });

  it("refuses a private JWK and a file that is not JSON, saying so", async () => {
    const { client_id: id } = json<{ client_id: string }>(
      await tessera(["clients", "create", "--name", "k2", "--auth-method", "private_key_jwt", "--json"]),
    );
    const priv = await tessera(["clients", "keys", "add", id, "-"], JSON.stringify({ ...key.jwk, d: "c2VjcmV0" }));
    expect(priv.code).toBe(1);
    expect(priv.stderr).toBe(
      'tessera: invalid_argument: jwk has the private member "d": register the public key only, and keep the private key with the client (tessera keys generate-client-key prints the public JWK)\n',
    );
    const file = join(dir, "not.json");
    writeFileSync(file, "-----BEGIN PUBLIC KEY-----");
    const pem = await tessera(["clients", "keys", "add", id, file]);
    expect([pem.code, pem.stderr]).toEqual([2, `tessera: The key file (${file}) is not JSON.\n`]);
  });
});

describe("tessera clients test-assertion", () => {
  it("prints accepted (exit 0) or the failing check (exit 1), and issues nothing", async () => {
    const { client_id: id } = json<{ client_id: string }>(
      await tessera(["clients", "create", "--name", "t", "--auth-method", "private_key_jwt", "--json"]),
    );
    await tessera(["clients", "keys", "add", id, "-"], JSON.stringify(key.jwk));
    const good = await clientAssertion(key, id, issuer);
    const ok = await tessera(["clients", "test-assertion", id], good);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("result:      accepted\n");
    // Not used up: the same assertion still gets a token.
    expect(await token(good)).toBe(200);

    const file = join(dir, "endpoint-aud.jwt");
    writeFileSync(file, await clientAssertion(key, id, `${issuer}/oauth/token`));
    const bad = await tessera(["clients", "test-assertion", id, file]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("result:      refused\n");
    const why = `The client_assertion's aud is the token endpoint URL: it must be the issuer identifier '${issuer}' alone (the issuer identifier, not an endpoint)`;
    expect(bad.stdout).toContain(`check:       ${why}\n`);
    expect(bad.stderr).toBe(`tessera: a token request with this assertion would be refused: ${why}\n`);
  });
});

describe("tessera clients federation", () => {
  it("refuses a GitHub Actions rule without an id condition, saying why; adds one with it; lists and removes", async () => {
    const { client_id: id } = json<{ client_id: string }>(
      await tessera(["clients", "create", "--name", "ci", "--scope", "read", "--auth-method", "federated", "--json"]),
    );
    const rule = ["--issuer", "https://token.actions.githubusercontent.com", "--subject", "repo:octo-org/app:ref:refs/heads/main"];
    const refused = await tessera(["clients", "federation", "add", id, ...rule]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^tessera: failed_precondition: a federated credential for GitHub Actions .* needs a condition on repository_owner_id or repository_id: that issuer signs tokens for every repository on GitHub/,
    );

    const added = json<{ credential_id: string; conditions: unknown[]; max_token_age: string }>(
      await tessera([
        "clients",
        "federation",
        "add",
        id,
        ...rule,
        "--condition",
        "repository_owner_id=123",
        "--condition",
        "repository_owner_id=456",
        "--max-age",
        "10m",
        "--json",
      ]),
    );
    expect(added).toMatchObject({ conditions: [{ claim: "repository_owner_id", values: ["123", "456"] }], max_token_age: "600s" });
    const table = await tessera(["clients", "federation", "list", id]);
    expect(table.stdout).toContain(
      `${added.credential_id}  https://token.actions.githubusercontent.com  repo:octo-org/app:ref:refs/heads/main  OpenID discovery  repository_owner_id=123|456`,
    );

    const jwks = join(dir, "cluster-jwks.json");
    writeFileSync(jwks, JSON.stringify({ keys: [key.jwk] }));
    const k8s = json<{ credential_id: string; jwks: { keys: unknown[] } }>(
      await tessera([
        "clients",
        "federation",
        "add",
        id,
        "--issuer",
        "https://kubernetes.default.svc",
        "--subject",
        "system:serviceaccount:a:b",
        "--jwks-file",
        jwks,
        "--json",
      ]),
    );
    expect(k8s.jwks.keys).toHaveLength(1);
    const sa = await clientAssertion(
      key,
      "ignored",
      issuer,
      { iss: "https://kubernetes.default.svc", sub: "system:serviceaccount:a:b", jti: undefined },
      { typ: "JWT" },
    );
    expect(await token(sa, id)).toBe(200);

    expect((await tessera(["clients", "federation", "remove", id, "--", added.credential_id])).code).toBe(0);
    const left = json<{ federated_credentials: { credential_id: string }[] }>(
      await tessera(["clients", "federation", "list", id, "--json"]),
    );
    expect(left.federated_credentials.map((f) => f.credential_id)).toEqual([k8s.credential_id]);

    const badCondition = await tessera(["clients", "federation", "add", id, ...rule, "--condition", "repository_owner_id"]);
    expect([badCondition.code, badCondition.stderr]).toEqual([
      2,
      'tessera: --condition "repository_owner_id" must read CLAIM=VALUE, e.g. repository_owner_id=123456.\n',
    ]);
  });
});
