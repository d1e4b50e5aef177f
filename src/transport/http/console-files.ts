import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** One file of the built console, held in memory ready to send. */
export interface ConsoleFile {
  body: Buffer;
  /** The gzipped body, when that is smaller. */
  gzip: Buffer | undefined;
  contentType: string;
  /** A strong validator for conditional requests (RFC 9110 §8.8.3). */
  etag: string;
}

/** The built console: its index.html, and the files of assets/ by name. */
export interface ConsoleBuild {
  index: ConsoleFile;
  assets: ReadonlyMap<string, ConsoleFile>;
}

// Only these kinds of file are served; anything else in the folder is ignored.
const HTML = "text/html; charset=utf-8";
const TYPES: Record<string, string> = {
  ".html": HTML,
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};
// Names Vite gives hashed assets (name-HASH.ext): no slash, no "..", nothing to traverse with.
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** Where `npm run build` writes the console: dist/console in the package's own folder. */
export function builtConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  // This module runs from src/ (tests) or dist/src/ (the server): the package root is the
  // nearest folder above it with a package.json.
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the folder of Tessera's package.json");
    dir = up;
  }
  return join(dir, "dist", "console");
}

function load(path: string, contentType: string): ConsoleFile {
  const body = readFileSync(path);
  const zipped = gzipSync(body, { level: 9 });
  return {
    body,
    gzip: zipped.length < body.length ? zipped : undefined,
    contentType,
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
  };
}

/**
 * Reads the built console into memory: index.html and the regular files directly under
 * assets/ whose names and types are expected. Symbolic links and folders are skipped, so only
 * files of the build can ever be sent. Undefined when there is no build.
 */
export function readConsoleBuild(dir: string): ConsoleBuild | undefined {
  const indexPath = join(dir, "index.html");
  if (!existsSync(indexPath)) return undefined;
  const assets = new Map<string, ConsoleFile>();
  const assetsDir = join(dir, "assets");
  if (existsSync(assetsDir)) {
    for (const entry of readdirSync(assetsDir, { withFileTypes: true })) {
      const type = TYPES[extname(entry.name)];
      if (entry.isFile() && type !== undefined && ASSET_NAME.test(entry.name))
        assets.set(entry.name, load(join(assetsDir, entry.name), type));
    }
  }
  return { index: load(indexPath, HTML), assets };
}
