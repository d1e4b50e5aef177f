import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNode, runTessera, startTessera, type TesseraProcess } from "../helpers/tessera-process.js";

// The package as a user gets it: `npm pack`, installed from the tarball into an empty
// project, then its CLI and both entry points used from there (ESM and TypeScript).
//
// Offline and fast: the project gets a lockfile with exactly the runtime dependencies of
// ours (so npm needs no registry metadata), npm reads their tarballs from the npm cache
// (`npm ci` filled it), and better-sqlite3's install script finds the binary already built
// for this Node in prebuild-install's download cache instead of compiling for a minute.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
};
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

let work: string;
let project: string;
let tarball: string;
let installMs: number;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "tessera-pack-"));
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: ROOT, encoding: "utf8" }),
  ) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);

  project = join(work, "app");
  mkdirSync(project);
  const spec = `file:${tarball}`;
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module", dependencies: { [pkg.name]: spec } }, null, 2),
  );
  writeFileSync(join(project, "package-lock.json"), JSON.stringify(lockfileFor(spec), null, 2));
  const cache = prebuildCache();
  const started = performance.now();
  const install = spawnSync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--cache", cache, "--foreground-scripts"], {
    cwd: project,
    encoding: "utf8",
    timeout: 240_000,
  });
  installMs = performance.now() - started;
  if (install.status !== 0) throw new Error(`npm ci of the packed tarball failed:\n${install.stdout}\n${install.stderr}`);
  console.log(`npm ci of ${packed[0]!.filename} into an empty project: ${Math.round(installMs)} ms`);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

let files: string[];

describe(`the published package (${pkg.name})`, () => {
  it("is publishable: not private, a license file matching package.json, only what users need", () => {
    expect((pkg as { private?: boolean }).private).toBeUndefined();
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(pkg.license).toBe("Apache-2.0");
    expect(files).toEqual(
      expect.arrayContaining([
        "LICENSE",
        "README.md",
        "package.json",
        "bin/tessera",
        "dist/src/cli/main.js",
        "dist/src/client/index.d.ts",
        "dist/src/verify/index.js",
        "proto/tessera/v1/token_service.proto",
      ]),
    );
    expect(files.filter((f) => /\.map$|^src\/|^test\/|^bench\/|^examples\/|\.db$|^node_modules\//.test(f))).toEqual([]);
  });

  it("installs from the tarball without compiling better-sqlite3", () => {
    expect(existsSync(join(project, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))).toBe(true);
    expect(existsSync(join(project, "node_modules", ".bin", "tessera"))).toBe(true);
    // A compile takes about a minute on this kind of machine; the prebuilt binary, seconds.
    expect(existsSync(join(project, "node_modules", "better-sqlite3", "build", "Release", "obj.target"))).toBe(false);
  });

  describe("its `tessera` command", () => {
    let server: TesseraProcess;
    let url: string;
    let admin: { client_id: string; client_secret: string };
    const bin = () => join(project, "node_modules", ".bin", "tessera");
    const run = (args: string[], env: Record<string, string> = {}) => runTessera(args, { bin: bin(), cwd: project, env });

    beforeAll(async () => {
      server = await startTessera({ bin: bin(), cwd: project, db: "data/tessera.db", args: ["--issuer", "http://tessera.pack.test"] });
      url = server.url;
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    it("serve, bootstrap and token work", async () => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await run(["--version"])).stdout).toBe(`${pkg.version}\n`);
      const boot = await run(["bootstrap", "--db", "data/tessera.db"]);
      expect(boot.code, boot.stderr).toBe(0);
      expect(boot.stderr).toContain(join(project, "data", "tessera.db"));
      admin = JSON.parse(boot.stdout) as typeof admin;
      const token = await run(["token", "--server", url, "--scope", "tessera:admin"], {
        CLIENT_ID: admin.client_id,
        CLIENT_SECRET: admin.client_secret,
      });
      expect(token.code, token.stderr).toBe(0);
      expect(token.stdout.trim().split(".")).toHaveLength(3);
    });

    it("tessera-oauth/client and tessera-oauth/verify import as ESM and work against it", async () => {
      writeFileSync(
        join(project, "use.mjs"),
        `import { TokenClient } from "${pkg.name}/client";
import { IssuerKeys, verifyAccessToken } from "${pkg.name}/verify";
const tokens = new TokenClient({ server: process.argv[2], scope: "tessera:admin" });
const token = await tokens.getToken();
const issuer = "http://tessera.pack.test";
const keys = new IssuerKeys({ issuer, jwksUri: process.argv[2] + "/.well-known/jwks.json" });
const claims = await verifyAccessToken(token, { issuer, audience: issuer, keys });
console.log(JSON.stringify({ sub: claims.sub, scopes: claims.scopes }));
await tokens.close();
`,
      );
      const r = await runNode(["use.mjs", url], { cwd: project, env: { CLIENT_ID: admin.client_id, CLIENT_SECRET: admin.client_secret } });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ sub: admin.client_id, scopes: ["tessera:admin"] });
    });
  });

  it("its types resolve in TypeScript (NodeNext), and are real types, not any", () => {
    writeFileSync(
      join(project, "check.ts"),
      `import { TokenClient, TokenError } from "${pkg.name}/client";
import { verifyAccessToken, type AccessTokenClaims } from "${pkg.name}/verify";
const t: Promise<string> = new TokenClient({ server: "http://localhost:8080" }).getToken();
const c: Promise<AccessTokenClaims> = verifyAccessToken("x", { issuer: "i", audience: "a" });
// Types that failed to resolve would be \`any\`, and this line would then compile: an error.
// @ts-expect-error getToken() resolves to a string
const n: Promise<number> = new TokenClient({ server: "http://localhost:8080" }).getToken();
export const used = [t, c, n, TokenError];
`,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules", "@types")],
        },
        files: ["check.ts"],
      }),
    );
    const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: project, encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);
});

/**
 * A lockfile for the empty project: our tarball plus exactly the runtime entries of our own
 * lockfile (with the registry URL where npm left it out), so `npm ci` asks no registry.
 */
function lockfileFor(spec: string) {
  const ours = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, Record<string, unknown>> };
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  const packages: Record<string, unknown> = {
    "": { name: "app", dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(ours.packages)) {
    if (path === "" || entry.dev || entry.devOptional || entry.peer) continue;
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    packages[path] = { resolved: `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${String(entry.version)}.tgz`, ...entry };
  }
  return { name: "app", lockfileVersion: 3, requires: true, packages };
}

/**
 * An npm cache folder for the install: the real cache's content (symlinked, read as usual)
 * plus, in prebuild-install's download cache, the better-sqlite3 binary this checkout
 * already built, under the name prebuild-install looks for. That is what a machine with
 * access to GitHub's release downloads would have after its first install.
 */
function prebuildCache(): string {
  const cache = join(work, "npm-cache");
  mkdirSync(join(cache, "_prebuilds"), { recursive: true });
  const npmCache = execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).trim();
  symlinkSync(join(npmCache, "_cacache"), join(cache, "_cacache"));
  const require = createRequire(join(ROOT, "package.json"));
  const util = require("prebuild-install/util.js") as { getDownloadUrl(o: object): string };
  const sqlite = require("better-sqlite3/package.json") as object;
  const url = util.getDownloadUrl({
    pkg: sqlite,
    runtime: "node",
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    libc: "",
    "tag-prefix": "v",
  });
  // prebuild-install's own naming of cached downloads (util.cachedPrebuild).
  const name = `${createHash("sha512").update(url).digest("hex").slice(0, 6)}-${url
    .split("/")
    .pop()!
    .replace(/[^a-zA-Z0-9.]+/g, "-")}`;
  const stage = join(work, "prebuild");
  mkdirSync(join(stage, "build", "Release"), { recursive: true });
  execFileSync("cp", [require.resolve("better-sqlite3/build/Release/better_sqlite3.node"), join(stage, "build", "Release")]);
  execFileSync("tar", ["-czf", join(cache, "_prebuilds", name), "-C", stage, "build"]);
  return cache;
}
