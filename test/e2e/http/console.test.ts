import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest, postForm } from "../../helpers/http.js";
import { bootstrap, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// The console as the real `tessera serve` serves it from the build that `npm run build` made,
// over HTTP/1.1 and h2c; and a server whose console was never built.

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BUILT = join(ROOT, "dist", "console");

let dir: string;
let server: TesseraProcess;

/** One raw HTTP/1.1 request line, exactly as written, on its own connection; the status code. */
function rawStatus(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])));
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  if (!existsSync(join(BUILT, "index.html"))) throw new Error("dist/console is missing: run `npm run build` (npm test does it) first");
  dir = tempDir("console-http");
  server = await startTessera({ db: join(dir, "tessera.db") });
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tessera serve with the built console", () => {
  it("serves the page and every file it loads from /console, with the security headers", async () => {
    const page = await httpRequest("GET", `${server.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.text).toBe(readFileSync(join(BUILT, "index.html"), "utf8"));
    // No inline script or style in the page itself: everything comes from /console/assets/.
    expect(page.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=/i);
    const loaded = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(loaded.length).toBeGreaterThanOrEqual(2);
    for (const path of loaded) {
      expect(path).toMatch(/^\/console\/assets\/[\w.-]+$/);
      const file = await httpRequest("GET", `${server.url}${path}`);
      expect(file.status, path).toBe(200);
      expect(file.headers.get("cache-control"), path).toBe("public, max-age=31536000, immutable");
      expect(file.headers.get("content-security-policy"), path).not.toBeNull();
      expect(file.text, path).toBe(readFileSync(join(BUILT, path.slice("/console/".length)), "utf8"));
    }
  });

  it("serves it over h2c as well", async () => {
    const session = http2.connect(server.url);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ":path": "/console/" });
        req.on("response", resolve);
        req.on("error", reject);
        req.resume();
        req.end();
      });
      expect(headers[":status"]).toBe(200);
      expect(headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(headers["content-security-policy"]).toContain("default-src 'self'");
    } finally {
      session.close();
    }
  });

  it("answers 404 to paths that climb out of the build, sent raw on the wire", async () => {
    for (const target of [
      "/console/assets/../../package.json",
      "/console/assets/../../../package.json",
      "/console/%2e%2e/%2e%2e/package.json",
      "/console/assets/..%2F..%2Fpackage.json",
      "/console/assets/....//....//package.json",
    ]) {
      expect(await rawStatus(server.port, target), target).toBe(404);
    }
    // And the other routes are where they were.
    expect((await httpRequest("GET", `${server.url}/healthz`)).status).toBe(200);
    expect((await httpRequest("GET", `${server.url}/consolex`)).status).toBe(404);
  });
});

describe("tessera serve whose console was never built", () => {
  let bare: string;
  let unbuilt: TesseraProcess;

  beforeAll(async () => {
    // The package as `npm ci` would leave it had the console build not run: no dist/console.
    bare = tempDir("console-unbuilt");
    cpSync(join(ROOT, "package.json"), join(bare, "package.json"));
    cpSync(join(ROOT, "bin"), join(bare, "bin"), { recursive: true });
    mkdirSync(join(bare, "dist"));
    for (const part of readdirSync(join(ROOT, "dist"))) {
      if (part !== "console") cpSync(join(ROOT, "dist", part), join(bare, "dist", part), { recursive: true });
    }
    symlinkSync(join(ROOT, "node_modules"), join(bare, "node_modules"));
    const db = join(bare, "tessera.db");
    await bootstrap(db);
    unbuilt = await startTessera({ db, bin: join(bare, "bin", "tessera") });
  });

  afterAll(async () => {
    await unbuilt?.stop();
    if (bare) rmSync(bare, { recursive: true, force: true });
  });

  it("still starts and issues tokens, and /console says how to build the console", async () => {
    const page = await httpRequest("GET", `${unbuilt.url}/console/`);
    expect(page.status).toBe(404);
    expect(page.text).toMatch(/^The Tessera console is not built\. Run `npm run build`/);
    expect(page.headers.get("content-security-policy")).not.toBeNull();
    const refused = await postForm(`${unbuilt.url}/oauth/token`, {
      grant_type: "client_credentials",
      client_id: "nobody",
      client_secret: "x",
    });
    expect(refused.status).toBe(401);
  });
});
