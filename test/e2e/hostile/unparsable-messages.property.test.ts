import type { DescService } from "@bufbuild/protobuf";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import { KeyAdmin } from "../../../gen/tessera/v1/key_admin_pb.js";
import { TokenService } from "../../../gen/tessera/v1/token_service_pb.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// Any bytes as the body of any unary RPC over Connect (protobuf binary, HTTP/1.1) on the real
// server: whatever they decode to, or fail to, the answer is never a 5xx. Bytes that are not
// the request message are the caller's 400 invalid_argument; bytes that happen to be one get
// the method's own answer (mostly 401, as nobody is authenticated here).

// Every service the port serves with unary methods (the reflection service is a stream only).
const SERVICES: DescService[] = [TokenService, ClientAdmin, KeyAdmin, Health];
const PATHS = SERVICES.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map((m) => `/${s.typeName}/${m.name}`));

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

describe("random bytes as a Connect request body", () => {
  it(`property: never a 5xx, on any of the ${PATHS.length} unary methods`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), fc.uint8Array({ maxLength: 48 }), async (path, body) => {
        const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/proto" }, body, signal: AbortSignal.timeout(5000) });
        const text = Buffer.from(await res.arrayBuffer());
        expect(res.status, `${path} ${Buffer.from(body).toString("hex")} -> ${text.toString()}`).toBeLessThan(500);
        if (res.status === 400) {
          const json = JSON.parse(text.toString()) as { code: string; message: string };
          expect(json.code).toBe("invalid_argument");
          expect(json.message).not.toMatch(/\n|\s+at /);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("and a well-formed empty request still gets each method's own answer", async () => {
    const res = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/proto" }, body: new Uint8Array() });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toStrictEqual(Buffer.from([0x08, 0x01])); // status SERVING
  });
});
