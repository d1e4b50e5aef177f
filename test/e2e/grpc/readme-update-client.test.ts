import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient, unary } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// The README's UpdateClient commands, taken from the README itself and run against the real
// server: the field mask as grpcurl reads it (an object with `paths`) and as buf curl and
// protobuf's JSON mapping read it (a string).

const README = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
const BUF = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));

/** The JSON after `-d '` of the first command in the README that calls `method` with `tool`. */
function readmeBody(tool: "grpcurl" | "buf curl", method: string): string {
  const commands = README.split(/\n(?=\S)/).filter((c) => c.startsWith(tool) && c.includes(method));
  expect(commands, `a ${tool} ${method} command in the README`).toHaveLength(1);
  return /-d '([^']*)'/.exec(commands[0]!)![1]!;
}

function bufCurl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let server: TestServer;
let admin: grpc.Client;
let bearer: Record<string, string>;
let target: string;

beforeAll(async () => {
  server = await startTestServer();
  const a = await server.admin();
  const tokens = grpcClient("TokenService", server.port);
  const t = await unary<{ access_token: string }>(tokens, "IssueToken", {
    client_id: a.clientId,
    client_secret: a.clientSecret,
    scope: "tessera:admin",
  });
  tokens.close();
  bearer = { authorization: `Bearer ${t.access_token}` };
  admin = grpcClient("ClientAdmin", server.port);
  target = (await server.createClient({ name: "billing" })).clientId;
});
afterAll(async () => {
  admin?.close();
  await server?.stop();
});

const disabled = async () =>
  (await unary<{ client: { disabled: boolean } }>(admin, "GetClient", { client_id: target }, bearer)).client.disabled;
const enable = () =>
  unary(admin, "UpdateClient", { client: { client_id: target, disabled: false }, update_mask: { paths: ["disabled"] } }, bearer);

describe("the README's UpdateClient examples", () => {
  it("buf curl with the string form disables the client; buf curl refuses the object form as the README says", async () => {
    const body = readmeBody("buf curl", "UpdateClient").replace("tcl_…", target);
    expect(JSON.parse(body).update_mask).toBe("disabled");
    const res = await bufCurl([
      "-H",
      `authorization: ${bearer.authorization}`,
      "-d",
      body,
      `${server.url}/tessera.v1.ClientAdmin/UpdateClient`,
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ client: { clientId: target, disabled: true } });
    expect(await disabled()).toBe(true);
    await enable();

    const objectForm = readmeBody("grpcurl", "UpdateClient").replace("tcl_…", target);
    const refused = await bufCurl([
      "-H",
      `authorization: ${bearer.authorization}`,
      "-d",
      objectForm,
      `${server.url}/tessera.v1.ClientAdmin/UpdateClient`,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("unexpected token {");
    expect(await disabled()).toBe(false);
  });

  it("the grpcurl body (the mask as an object with paths) disables the client when sent as grpcurl sends it", async () => {
    const body = JSON.parse(readmeBody("grpcurl", "UpdateClient").replace("tcl_…", target)) as { update_mask: unknown };
    expect(body.update_mask).toEqual({ paths: ["disabled"] });
    const grpcurl = spawnSync("grpcurl", ["-version"], { encoding: "utf8" });
    if (grpcurl.status === 0) {
      const r = spawnSync(
        "grpcurl",
        [
          "-plaintext",
          "-H",
          `authorization: ${bearer.authorization}`,
          "-d",
          JSON.stringify(body),
          `127.0.0.1:${server.port}`,
          "tessera.v1.ClientAdmin/UpdateClient",
        ],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
    } else {
      // grpcurl reads a FieldMask as a plain message; a stub generated from the .proto files
      // (grpc-js with @grpc/proto-loader) encodes the same object the same way.
      console.log("SKIPPED running grpcurl itself (not installed); its request body is sent through grpc-js instead");
      await unary(admin, "UpdateClient", body, bearer);
    }
    expect(await disabled()).toBe(true);
    await enable();
  });
});
