import { gzipSync } from "node:zlib";

/** The most JavaScript the console may ship, gzipped, in bytes (150 KB). */
export const JS_BUDGET_BYTES = 150 * 1000;

/** Gzipped size of a file's contents at the level servers commonly use (zlib's default, 6). */
export function gzippedBytes(contents: string | Uint8Array): number {
  return gzipSync(contents).length;
}
