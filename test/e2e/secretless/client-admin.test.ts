import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { JsonObject } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import { TokenService } from "../../../gen/tessera/v1/token_service_pb.js";
import { clientAssertion, type KeyIssuer, newKey, startKeyIssuer, type TestKey } from "../../helpers/key-issuer.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// The ClientAdmin calls for clients without secrets, over real gRPC (connect-node's client and
// `buf curl` through reflection, as grpcurl would): create such a client, register and remove
// its keys and federated credentials, evaluate an assertion; every change in the audit trail.

const BUF = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
const GITHUB = "https://token.actions.githubusercontent.com";

let server: TestServer;
let admin: Client<typeof ClientAdmin>;
let tokens: Client<typeof TokenService>;
let headers: Record<string, string>;
let key: TestKey;
let issuer: KeyIssuer;

beforeAll(async () => {
  server = await startTestServer({ env: { TESSERA_ALLOW_INSECURE_JWKS_URI_LOOPBACK: "true" } });
  const transport = createGrpcTransport({ baseUrl: server.url });
  admin = createClient(ClientAdmin, transport);
  tokens = createClient(TokenService, transport);
  const a = await server.admin();
  const { accessToken } = await tokens.issueToken({ clientId: a.clientId, clientSecret: a.clientSecret, scope: "tessera:admin" });
  headers = { authorization: `Bearer ${accessToken}` };
  key = await newKey("ES256");
  issuer = await startKeyIssuer({ keys: [await newKey("RS256")] });
});

afterAll(async () => {
  await server?.stop();
  await issuer?.close();
});

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

async function keysClient(): Promise<string> {
  const { client, clientSecret } = await admin.createClient({ name: "keys", scopes: ["read"], authMethod: "private_key_jwt" }, { headers });
  expect(clientSecret).toBe("");
  expect(client).toMatchObject({ authMethod: "private_key_jwt", secrets: [], keys: [], jwksUri: "" });
  return client!.clientId;
}

describe("client keys", () => {
  it("add, list, use, remove: the assertion works while the key is registered and is refused after", async () => {
    const id = await keysClient();
    const added = await admin.addClientKey({ clientId: id, jwk: key.jwk as unknown as JsonObject }, { headers });
    expect(added.key).toMatchObject({
      kid: key.kid,
      jwk: { kty: "EC", crv: "P-256", x: key.jwk.x, y: key.jwk.y, kid: key.kid, alg: "ES256", use: "sig" },
    });
    expect((await admin.listClientKeys({ clientId: id }, { headers })).keys.map((k) => k.kid)).toEqual([key.kid]);

    const assertion = await clientAssertion(key, id, server.issuer);
    const issued = await tokens.issueToken({
      clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      clientAssertion: assertion,
    });
    expect(issued.accessToken).not.toBe("");

    const removed = await admin.removeClientKey({ clientId: id, kid: key.kid }, { headers });
    expect(removed.client?.keys).toEqual([]);
    const err = await refusal(
      tokens.issueToken({
        clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        clientAssertion: await clientAssertion(key, id, server.issuer),
      }),
    );
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toMatch(/^The client_assertion's kid '.*' names none of the client's registered keys$/);

    const trail = await admin.listAuditEvents({ target: id }, { headers });
    expect(trail.events.map((e) => e.action)).toEqual(["client.remove_key", "client.add_key", "client.create"]);
    expect(trail.events[1]?.changes).toMatchObject({ kid: key.kid, kty: "EC", alg: "ES256" });
    expect(trail.events[2]?.changes).toMatchObject({ auth_method: "private_key_jwt" });
  });

  it("refuses a JWK with a private member, a symmetric key, a duplicate kid, and keys on a client with a jwks_uri", async () => {
    const id = await keysClient();
    const withD = await refusal(
      admin.addClientKey({ clientId: id, jwk: { ...key.jwk, d: "c2VjcmV0" } as unknown as JsonObject }, { headers }),
    );
    expect([withD.code, withD.rawMessage]).toEqual([
      Code.InvalidArgument,
      'jwk has the private member "d": register the public key only, and keep the private key with the client (tessera keys generate-client-key prints the public JWK)',
    ]);
    const oct = await refusal(admin.addClientKey({ clientId: id, jwk: { kty: "oct", k: "c2VjcmV0" } }, { headers }));
    expect(oct.code).toBe(Code.InvalidArgument);
    await admin.addClientKey({ clientId: id, jwk: key.jwk as unknown as JsonObject }, { headers });
    const dup = await refusal(admin.addClientKey({ clientId: id, jwk: key.jwk as unknown as JsonObject }, { headers }));
    expect([dup.code, dup.rawMessage]).toEqual([Code.AlreadyExists, `the client already has a key with kid ${JSON.stringify(key.kid)}`]);
    const both = await refusal(
      admin.updateClient({ client: { clientId: id, jwksUri: issuer.jwksUri }, updateMask: { paths: ["jwks_uri"] } }, { headers }),
    );
    expect(both.code).toBe(Code.FailedPrecondition);
    expect(both.rawMessage).toMatch(/either keys or a jwks_uri, not both/);
  });

  it("a kid defaults to the key's RFC 7638 thumbprint; a jwks_uri must be https (or loopback http in development)", async () => {
    const id = await keysClient();
    const { kid: _kid, ...anonymous } = key.jwk;
    const added = await admin.addClientKey({ clientId: id, jwk: anonymous as unknown as JsonObject }, { headers });
    expect(added.key?.kid).toBe(key.kid);
    const other = await keysClient();
    const http = await refusal(
      admin.updateClient(
        { client: { clientId: other, jwksUri: "http://keys.example/jwks.json" }, updateMask: { paths: ["jwks_uri"] } },
        { headers },
      ),
    );
    expect([http.code, http.rawMessage]).toEqual([
      Code.InvalidArgument,
      'client.jwks_uri "http://keys.example/jwks.json" is refused: it must be an https URL (plain http is allowed for loopback addresses only, in development)',
    ]);
    const set = await admin.updateClient(
      { client: { clientId: other, jwksUri: issuer.jwksUri }, updateMask: { paths: ["jwks_uri"] } },
      { headers },
    );
    expect(set.client?.jwksUri).toBe(issuer.jwksUri);
  });

  it("a secret client switched to private_key_jwt loses its secrets (audited), and rotate-secret is refused", async () => {
    const { client, clientSecret } = await admin.createClient({ name: "moving", scopes: ["read"] }, { headers });
    const id = client!.clientId;
    await admin.addClientKey({ clientId: id, jwk: key.jwk as unknown as JsonObject }, { headers });
    const moved = await admin.updateClient(
      { client: { clientId: id, authMethod: "private_key_jwt" }, updateMask: { paths: ["auth_method"] } },
      { headers },
    );
    expect(moved.client).toMatchObject({ authMethod: "private_key_jwt", secrets: [] });
    const err = await refusal(tokens.issueToken({ clientId: id, clientSecret }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "Client authentication failed"]);
    const rotate = await refusal(admin.rotateClientSecret({ clientId: id }, { headers }));
    expect(rotate.code).toBe(Code.FailedPrecondition);
    const bad = await refusal(
      admin.updateClient({ client: { clientId: id, authMethod: "password" }, updateMask: { paths: ["auth_method"] } }, { headers }),
    );
    expect([bad.code, bad.rawMessage]).toEqual([
      Code.InvalidArgument,
      'client.auth_method must be one of client_secret, private_key_jwt, federated, not "password"',
    ]);
    const [update] = (await admin.listAuditEvents({ target: id }, { headers })).events;
    expect(update?.changes).toMatchObject({ auth_method: "private_key_jwt", secrets_deleted: true });
  });
});

describe("federated credentials", () => {
  async function federatedClient(): Promise<string> {
    const { client } = await admin.createClient({ name: "workload", scopes: ["read"], authMethod: "federated" }, { headers });
    return client!.clientId;
  }

  it("add with defaults, list, remove; the audit trail names issuer and subject", async () => {
    const id = await federatedClient();
    const { federatedCredential } = await admin.addFederatedCredential(
      { clientId: id, federatedCredential: { issuer: issuer.url, subject: "system:serviceaccount:billing:worker", name: "billing" } },
      { headers },
    );
    expect(federatedCredential).toMatchObject({
      credentialId: expect.stringMatching(/^fc_/),
      issuer: issuer.url,
      subject: "system:serviceaccount:billing:worker",
      jwksUri: "",
      audience: server.issuer,
      conditions: [],
      maxTokenAge: { seconds: 3600n },
      requireJti: false,
    });
    const listed = await admin.listFederatedCredentials({ clientId: id }, { headers });
    expect(listed.federatedCredentials.map((f) => f.credentialId)).toEqual([federatedCredential!.credentialId]);
    const dup = await refusal(
      admin.addFederatedCredential(
        { clientId: id, federatedCredential: { issuer: issuer.url, subject: "system:serviceaccount:billing:worker" } },
        { headers },
      ),
    );
    expect(dup.code).toBe(Code.AlreadyExists);
    await admin.removeFederatedCredential({ clientId: id, credentialId: federatedCredential!.credentialId }, { headers });
    expect((await admin.listFederatedCredentials({ clientId: id }, { headers })).federatedCredentials).toEqual([]);
    const trail = (await admin.listAuditEvents({ target: id }, { headers })).events;
    expect(trail.map((e) => e.action)).toEqual(["client.remove_federated_credential", "client.add_federated_credential", "client.create"]);
    expect(trail[1]?.changes).toMatchObject({
      issuer: issuer.url,
      subject: "system:serviceaccount:billing:worker",
      key_source: "oidc_discovery",
      audience: server.issuer,
    });
  });

  it("refuses a rule for GitHub Actions' issuer without a repository or owner id condition, saying why", async () => {
    const id = await federatedClient();
    const rule = { issuer: GITHUB, subject: "repo:octo-org/octo-repo:ref:refs/heads/main" };
    const err = await refusal(admin.addFederatedCredential({ clientId: id, federatedCredential: rule }, { headers }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(
      "a federated credential for GitHub Actions (https://token.actions.githubusercontent.com) needs a condition on repository_owner_id or repository_id: " +
        "that issuer signs tokens for every repository on GitHub, and the subject names a repository by a name that its owner can rename and " +
        "someone else can then register, so without an id condition another account's workflow could become this client",
    );
    const names = await refusal(
      admin.addFederatedCredential(
        { clientId: id, federatedCredential: { ...rule, conditions: [{ claim: "repository_owner_id", values: ["octo-org"] }] } },
        { headers },
      ),
    );
    expect(names.code).toBe(Code.InvalidArgument);
    expect(names.rawMessage).toMatch(/must hold numeric ids/);
    const ok = await admin.addFederatedCredential(
      { clientId: id, federatedCredential: { ...rule, conditions: [{ claim: "repository_owner_id", values: ["123456"] }] } },
      { headers },
    );
    expect(ok.federatedCredential?.conditions).toEqual([expect.objectContaining({ claim: "repository_owner_id", values: ["123456"] })]);
  });

  it("refuses an issuer that is not an https URL, a condition on a claim the rule checks itself, and a static JWKS with a private key", async () => {
    const id = await federatedClient();
    const http = await refusal(
      admin.addFederatedCredential({ clientId: id, federatedCredential: { issuer: "http://issuer.example", subject: "s" } }, { headers }),
    );
    expect(http.code).toBe(Code.InvalidArgument);
    const aud = await refusal(
      admin.addFederatedCredential(
        { clientId: id, federatedCredential: { issuer: issuer.url, subject: "s", conditions: [{ claim: "aud", values: ["x"] }] } },
        { headers },
      ),
    );
    expect(aud.rawMessage).toMatch(/^conditions\[0\] is on aud, which the credential checks itself/);
    const priv = await refusal(
      admin.addFederatedCredential(
        { clientId: id, federatedCredential: { issuer: issuer.url, subject: "s", jwks: { keys: [{ ...key.jwk, d: "x" }] } as never } },
        { headers },
      ),
    );
    expect(priv.rawMessage).toMatch(/^jwks.keys\[0\] has the private member "d"/);
  });
});

describe("TestClientAssertion", () => {
  it("says which check fails, issues nothing and leaves the jti unused", async () => {
    const id = await keysClient();
    await admin.addClientKey({ clientId: id, jwk: key.jwk as unknown as JsonObject }, { headers });
    const good = await clientAssertion(key, id, server.issuer);
    const verdict = await admin.testClientAssertion({ clientId: id, clientAssertion: good }, { headers });
    expect(verdict).toMatchObject({ accepted: true, authMethod: "private_key_jwt", issuer: id, subject: id });
    // Not used up: the same assertion still gets a token.
    await tokens.issueToken({ clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", clientAssertion: good });
    const endpointAud = await clientAssertion(key, id, server.issuer, { aud: `${server.issuer}/oauth/token` });
    expect(await admin.testClientAssertion({ clientId: id, clientAssertion: endpointAud }, { headers })).toMatchObject({
      accepted: false,
      description:
        "The client_assertion's aud is the token endpoint URL: it must be the issuer identifier 'http://tessera.test' alone (the issuer identifier, not an endpoint)",
    });
    const secretClient = await server.createClient();
    expect(await admin.testClientAssertion({ clientId: secretClient.clientId, clientAssertion: good }, { headers })).toMatchObject({
      accepted: false,
      authMethod: "client_secret",
      description: `The client ${secretClient.clientId} authenticates with a client secret, not with an assertion`,
    });
    const unknown = await refusal(admin.testClientAssertion({ clientId: "nobody", clientAssertion: good }, { headers }));
    expect(unknown.code).toBe(Code.NotFound);
  });
});

describe("through reflection, as grpcurl sends it", () => {
  it("AddClientKey takes the JWK as plain JSON (google.protobuf.Struct)", async () => {
    const id = await keysClient();
    const other = await newKey("EdDSA");
    const body = JSON.stringify({ client_id: id, jwk: other.jwk });
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        BUF,
        [
          "curl",
          "--protocol",
          "grpc",
          "--http2-prior-knowledge",
          "-H",
          `authorization: ${headers.authorization}`,
          "-d",
          body,
          `${server.url}/tessera.v1.ClientAdmin/AddClientKey`,
        ],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(out)).toMatchObject({ key: { kid: other.kid, jwk: { kty: "OKP", crv: "Ed25519", x: other.jwk.x } } });
  });
});
