import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptsGzip, CONSOLE_CSP, createConsoleRoute, NOT_BUILT } from "../../../src/transport/http/console-route.js";

// The /console route over a build made here, served by a plain node:http server: what it
// sends, with which headers, and that nothing outside the build can be asked for.

let dir: string;
let build: string;
let url: string;
let server: http.Server;

const INDEX = '<!doctype html><title>console</title><script type="module" src="/console/assets/index-Ab12.js"></script>';
const SCRIPT = `console.log(${JSON.stringify("x".repeat(2000))});`;

/** A raw request: the path is sent exactly as written (no normalisation of "..", no encoding). */
function get(path: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(url, { method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-console-route-"));
  build = join(dir, "console");
  mkdirSync(join(build, "assets", "nested"), { recursive: true });
  writeFileSync(join(build, "index.html"), INDEX);
  writeFileSync(join(build, "assets", "index-Ab12.js"), SCRIPT);
  writeFileSync(join(build, "assets", "index-Cd34.css"), "body{margin:0}");
  // Things that must never be served: a secret beside the build, reached by a link, a dotfile,
  // a file in a sub-folder, a kind of file the console does not ship.
  writeFileSync(join(dir, "secret.txt"), "top secret");
  symlinkSync(join(dir, "secret.txt"), join(build, "assets", "link.js"));
  writeFileSync(join(build, "assets", ".env.js"), "SECRET=1");
  writeFileSync(join(build, "assets", "nested", "deep.js"), "deep");
  writeFileSync(join(build, "assets", "notes.txt"), "notes");
  writeFileSync(join(build, "assets", "index-Ab12.js.map"), "{}");

  const route = createConsoleRoute(build);
  server = http.createServer((req, res) => route(req, res, (req.url ?? "/").split("?")[0]!));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe("the console route", () => {
  it("serves index.html at /console and /console/ with the security headers and no long caching", async () => {
    for (const path of ["/console", "/console/", "/console/?x=1"]) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.body.toString()).toBe(INDEX);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.headers["cache-control"]).toBe("no-cache");
      expect(r.headers["content-security-policy"]).toBe(CONSOLE_CSP);
      expect(r.headers["referrer-policy"]).toBe("no-referrer");
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.headers["x-frame-options"]).toBe("DENY");
      expect(r.headers["set-cookie"]).toBeUndefined();
    }
  });

  it("has a policy without inline script or style, framing, base or outside connections", () => {
    const directives = new Map(
      CONSOLE_CSP.split(";").map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values.join(" ")] as const;
      }),
    );
    expect(directives.get("default-src")).toBe("'self'");
    expect(directives.get("script-src")).toBe("'self'");
    expect(directives.get("style-src")).toBe("'self'");
    expect(directives.get("connect-src")).toBe("'self'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    expect(directives.get("base-uri")).toBe("'none'");
    expect(directives.get("form-action")).toBe("'self'");
    expect(directives.get("object-src")).toBe("'none'");
    expect(directives.get("require-trusted-types-for")).toBe("'script'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:|data:/);
  });

  it("serves hashed assets with their type, a year of caching, and gzip when the browser takes it", async () => {
    const plain = await get("/console/assets/index-Ab12.js");
    expect(plain.status).toBe(200);
    expect(plain.body.toString()).toBe(SCRIPT);
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.headers["content-security-policy"]).toBe(CONSOLE_CSP);

    const zipped = await get("/console/assets/index-Ab12.js", { "accept-encoding": "br, gzip, deflate" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(Number(zipped.headers["content-length"])).toBe(zipped.body.length);
    expect(gunzipSync(zipped.body).toString()).toBe(SCRIPT);

    const refused = await get("/console/assets/index-Ab12.js", { "accept-encoding": "gzip;q=0, identity" });
    expect(refused.headers["content-encoding"]).toBeUndefined();

    const css = await get("/console/assets/index-Cd34.css");
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
  });

  it("answers a conditional request with 304 and HEAD without a body", async () => {
    const first = await get("/console/");
    const again = await get("/console/", { "if-none-match": first.headers.etag! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await get("/console/", { "if-none-match": `"other", W/${first.headers.etag!}` })).status).toBe(304);
    expect((await get("/console/", { "if-none-match": '"other"' })).status).toBe(200);
    // The gzipped and the plain body are different representations with different tags.
    const zipped = await get("/console/assets/index-Ab12.js", { "accept-encoding": "gzip" });
    const plain = await get("/console/assets/index-Ab12.js");
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);
    expect((await get("/console/assets/index-Ab12.js", { "if-none-match": zipped.headers.etag! })).status).toBe(200);
    expect((await get("/console/assets/index-Ab12.js", { "accept-encoding": "gzip", "if-none-match": zipped.headers.etag! })).status).toBe(
      304,
    );
    const head = await get("/console/assets/index-Ab12.js", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(Number(head.headers["content-length"])).toBe(SCRIPT.length);
    expect(head.body.length).toBe(0);
  });

  it("never serves a file outside the build, whatever the path says", async () => {
    const attempts = [
      "/console/assets/../../secret.txt",
      "/console/../secret.txt",
      "/console/assets/..%2f..%2fsecret.txt",
      "/console/assets/%2e%2e/%2e%2e/secret.txt",
      "/console/assets/..\\..\\secret.txt",
      "/console/assets/link.js", // a symbolic link to the secret
      "/console/assets/.env.js",
      "/console/assets/nested/deep.js",
      "/console/assets/notes.txt",
      "/console/assets/index-Ab12.js.map",
      "/console/assets/",
      "/console/assets",
      "/console/index.html",
      "/console/secret.txt",
      "/console//assets/index-Ab12.js",
      "/console/assets/index-Ab12.js%00.html",
    ];
    for (const path of attempts) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString(), path).toBe("The console has no such file.\n");
      expect(r.headers["content-security-policy"], path).toBe(CONSOLE_CSP);
    }
  });

  it("refuses methods other than GET and HEAD", async () => {
    const r = await get("/console/", {}, "POST");
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET, HEAD");
  });
});

describe("the console route without a build", () => {
  it("answers 404 with how to build it, then serves the build once it exists", async () => {
    const empty = mkdtempSync(join(tmpdir(), "tessera-console-unbuilt-"));
    try {
      const route = createConsoleRoute(empty);
      const s = http.createServer((req, res) => route(req, res, (req.url ?? "/").split("?")[0]!));
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
      const at = `http://127.0.0.1:${(s.address() as AddressInfo).port}/console/`;
      try {
        const before = await fetch(at);
        expect(before.status).toBe(404);
        expect(await before.text()).toBe(NOT_BUILT);
        expect(NOT_BUILT).toMatch(/npm run build/);
        writeFileSync(join(empty, "index.html"), INDEX);
        const after = await fetch(at);
        expect(after.status).toBe(200);
        expect(await after.text()).toBe(INDEX);
      } finally {
        await new Promise((r) => s.close(r));
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("acceptsGzip", () => {
  it("reads Accept-Encoding as RFC 9110 §12.5.3 defines it", () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip("")).toBe(false);
    expect(acceptsGzip("gzip")).toBe(true);
    expect(acceptsGzip("GZIP")).toBe(true);
    expect(acceptsGzip("br, gzip;q=0.5")).toBe(true);
    expect(acceptsGzip("*")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("gzip; q=0.000")).toBe(false);
    expect(acceptsGzip("br, deflate")).toBe(false);
    expect(acceptsGzip("x-gzip")).toBe(true);
  });
});
