import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { within } from "../../helpers/eventually.js";
import { adminToken, bearer, type CallFailure, opsClient, unary } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { makeTlsFiles } from "../../helpers/tls-files.js";

const OPENSSL = "/usr/bin/openssl";
const CURL = "/usr/bin/curl";
const issuer = "https://tessera.tls.test";
const WARNING = /cleartext HTTP on a non-loopback address/;

let dir: string;
const started: TesseraProcess[] = [];
const missing = [OPENSSL, CURL].filter((p) => !existsSync(p));
if (missing.length > 0) console.log(`SKIPPED TLS tests: ${missing.join(" and ")} not found (apt-get install openssl curl)`);

beforeAll(() => {
  dir = tempDir("tls");
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CURL, ["-sS", "--max-time", "10", ...args], { encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(missing.length > 0)("TLS: --tls-cert / --tls-key", () => {
  let certs: { ca: string; cert: string; key: string };
  let server: TesseraProcess;
  let admin: Credentials;
  let svc: Credentials;
  let sslCreds: grpc.ChannelCredentials;

  beforeAll(async () => {
    certs = makeTlsFiles(dir);
    const db = join(dir, "tls.db");
    admin = await bootstrap(db);
    server = await startTessera({ db, args: ["--issuer", issuer, "--tls-cert", certs.cert, "--tls-key", certs.key], scheme: "https" });
    started.push(server);
    sslCreds = grpc.credentials.createSsl(readFileSync(certs.ca));
  });

  it("logs that it listens with TLS", () => {
    const l = server.logs.find((x) => x.msg === "tessera listening")!;
    expect(l.tls).toBe(true);
    expect(server.logs.some((x) => WARNING.test(String(x.msg)))).toBe(false);
  });

  it("grpc-js with createSsl(CA) gets a token, and can administer clients", async () => {
    // By name (the DNS SAN); curl below checks the IP SAN (grpc-js would set an IP as SNI name,
    // which node deprecates with a warning).
    {
      const tokens = opsClient("TokenService", `localhost:${server.port}`, sslCreds);
      try {
        const t = await unary<{ access_token: string; token_type: string }>(tokens, "IssueToken", {
          client_id: admin.clientId,
          client_secret: admin.clientSecret,
          scope: "tessera:admin",
        });
        expect(t.token_type).toBe("Bearer");
        expect(t.access_token.split(".")).toHaveLength(3);
      } finally {
        tokens.close();
      }
    }
    const tokens = opsClient("TokenService", `localhost:${server.port}`, sslCreds);
    const clients = opsClient("ClientAdmin", `localhost:${server.port}`, sslCreds);
    try {
      const r = await unary<{ client: { client_id: string }; client_secret: string }>(
        clients,
        "CreateClient",
        { client_id: "tls-svc", name: "tls svc", scopes: ["read"] },
        bearer(await adminToken(tokens, admin)),
      );
      svc = { clientId: r.client.client_id, clientSecret: r.client_secret };
    } finally {
      tokens.close();
      clients.close();
    }
  });

  it("curl --cacert POST /oauth/token works over HTTP/1.1 and HTTP/2, and the token verifies", async () => {
    const jwksRes = await curl(["--cacert", certs.ca, `https://127.0.0.1:${server.port}/.well-known/jwks.json`]);
    expect(jwksRes.code, jwksRes.stderr).toBe(0);
    const jwks = createLocalJWKSet(JSON.parse(jwksRes.stdout) as JSONWebKeySet);
    for (const [flag, version] of [
      ["--http1.1", "1.1"],
      ["--http2", "2"],
    ] as const) {
      for (const host of ["localhost", "127.0.0.1"]) {
        const r = await curl([
          "--cacert",
          certs.ca,
          flag,
          "--resolve",
          `localhost:${server.port}:127.0.0.1`,
          "-u",
          `${svc.clientId}:${svc.clientSecret}`,
          "-d",
          "grant_type=client_credentials",
          "-d",
          "scope=read",
          "-w",
          "\n%{http_code} %{http_version}",
          `https://${host}:${server.port}/oauth/token`,
        ]);
        expect(r.code, r.stderr).toBe(0);
        const [body, status] = r.stdout.split("\n");
        expect(status).toBe(`200 ${version}`);
        const token = (JSON.parse(body!) as { access_token: string }).access_token;
        const { payload } = await jwtVerify(token, jwks, { issuer });
        expect(payload.client_id).toBe("tls-svc");
      }
    }
  });

  it("ALPN negotiates h2 and http/1.1", async () => {
    const negotiate = (protocols: string[]) =>
      new Promise<string | false>((resolve, reject) => {
        const s = tls.connect(
          { host: "127.0.0.1", port: server.port, servername: "localhost", ca: readFileSync(certs.ca), ALPNProtocols: protocols },
          () => {
            const p = s.alpnProtocol;
            s.end();
            resolve(p ?? false);
          },
        );
        s.once("error", reject);
      });
    expect(await negotiate(["h2"])).toBe("h2");
    expect(await negotiate(["http/1.1"])).toBe("http/1.1");
    expect(await negotiate(["h2", "http/1.1"])).toBe("h2");
  });

  it("a cleartext client on the TLS port fails quickly and cleanly; the server keeps serving", async () => {
    // "Quickly": the server answers garbage or closes at once, where a server that waited for a
    // TLS handshake would hold each client until its own timeout. The 15 s bounds below only
    // tell that hang from a slow, loaded machine.
    // HTTP/1.1 in cleartext.
    const err = await fetch(`http://127.0.0.1:${server.port}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials",
      signal: AbortSignal.timeout(15_000),
    }).then(
      (res) => expect.fail(`a cleartext request was answered ${res.status}`),
      (e: Error) => e,
    );
    expect(err.name).not.toBe("TimeoutError");
    // gRPC in cleartext (h2c).
    const plain = opsClient("TokenService", `127.0.0.1:${server.port}`);
    try {
      const f = (await unary(plain, "IssueToken", { client_id: svc.clientId, client_secret: svc.clientSecret }).catch(
        (e: CallFailure) => e,
      )) as CallFailure;
      expect(f.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      plain.close();
    }
    // Raw bytes: the server closes the connection.
    const s = net.connect(server.port, "127.0.0.1", () => s.write("GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n"));
    s.on("error", () => undefined);
    s.on("data", () => undefined);
    const closed = new Promise<boolean>((resolve) => s.once("close", () => resolve(true)));
    try {
      expect(await within("the server to close a cleartext connection on its TLS port", closed, 15_000)).toBe(true);
    } finally {
      s.destroy();
    }

    expect(server.child.exitCode).toBeNull();
    const again = await curl([
      "--cacert",
      certs.ca,
      "-u",
      `${svc.clientId}:${svc.clientSecret}`,
      "-d",
      "grant_type=client_credentials",
      "-w",
      "\n%{http_code}",
      `https://127.0.0.1:${server.port}/oauth/token`,
    ]);
    expect(again.stdout.split("\n")[1]).toBe("200");
    expect(server.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it("--tls-cert without --tls-key, or a missing file, stops start-up with one sentence and exit 2", async () => {
    const half = await runTessera(["serve", "--port", "0", "--host", "127.0.0.1", "--db", join(dir, "half.db"), "--tls-cert", certs.cert]);
    expect(half.code).toBe(2);
    expect(half.stderr).toBe("tessera: --tls-cert and --tls-key go together: give both files, or neither for cleartext.\n");
    const gone = await runTessera([
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--db",
      join(dir, "half.db"),
      "--tls-cert",
      join(dir, "nope.pem"),
      "--tls-key",
      certs.key,
    ]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/^tessera: --tls-cert names ".*nope\.pem", which does not exist\.\n$/);
  });

  it("no cleartext warning on a non-loopback address when TLS is on", async () => {
    const s = await startTessera({
      db: join(dir, "tls-any.db"),
      host: "0.0.0.0",
      args: ["--issuer", issuer, "--tls-cert", certs.cert, "--tls-key", certs.key],
      scheme: "https",
    });
    started.push(s);
    expect(s.logs.find((l) => l.msg === "tessera listening")?.tls).toBe(true);
    expect(s.logs.some((l) => WARNING.test(String(l.msg)))).toBe(false);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });
});

describe("cleartext on a non-loopback address", () => {
  it("--host 0.0.0.0 without TLS warns at start-up, naming the address and the remedy", async () => {
    const s = await startTessera({ db: join(dir, "any.db"), host: "0.0.0.0" });
    started.push(s);
    const warn = s.logs.filter((l) => WARNING.test(String(l.msg)));
    expect(warn).toHaveLength(1);
    expect(warn[0]!.level).toBe(40);
    expect(warn[0]!.host).toBe("0.0.0.0");
    expect(warn[0]!.msg).toMatch(/--tls-cert\/--tls-key/);
    // The warning comes before the server says it listens, so an operator sees it at once.
    expect(s.logs.indexOf(warn[0]!)).toBeLessThan(s.logs.findIndex((l) => l.msg === "tessera listening"));
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });

  it("--host 127.0.0.1 does not warn", async () => {
    const s = await startTessera({ db: join(dir, "loop.db"), host: "127.0.0.1" });
    started.push(s);
    expect(s.logs.some((l) => WARNING.test(String(l.msg)))).toBe(false);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });
});
