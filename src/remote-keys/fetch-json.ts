import http from "node:http";
import https from "node:https";
import { keyUrlProblem } from "../core/ports/key-sets.js";

/** The limits of one fetch of keys or of a discovery document. */
export interface FetchLimits {
  /** Whole request, connection to last byte. */
  timeoutMs: number;
  /** Larger bodies are refused (a JWKS is a few KB). */
  maxBytes: number;
  /** Plain http to loopback (development only); https always. */
  allowHttpLoopback: boolean;
  /** Extra trusted CA certificates (PEM); Node's own list and NODE_EXTRA_CA_CERTS otherwise. */
  ca?: string | undefined;
}

/** A fetch that failed; the message is one printable ASCII phrase saying what went wrong. */
export class FetchFailedError extends Error {
  override readonly name = "FetchFailedError";
}

/** What a successful fetch returned. */
export interface FetchedJson {
  body: unknown;
  /** The Cache-Control header, if any. */
  cacheControl: string | undefined;
}

/**
 * GETs `url` and parses its JSON body, within `limits`: only https (or allowed loopback http),
 * no redirects followed (a 3xx is a failure: the registered URL is the one trusted), status 200
 * only, bounded size and time. Rejects with FetchFailedError.
 */
export function fetchJson(url: string, limits: FetchLimits): Promise<FetchedJson> {
  const target = URL.canParse(url) ? new URL(url) : undefined;
  const problem = target === undefined ? "it is not a URL" : keyUrlProblem(target, limits.allowHttpLoopback);
  if (target === undefined || problem !== undefined) return Promise.reject(new FetchFailedError(`the URL is refused: ${problem}`));
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      reject(new FetchFailedError(why));
    };
    const options = { method: "GET", headers: { accept: "application/json" }, ...(limits.ca === undefined ? {} : { ca: limits.ca }) };
    const req = (target.protocol === "https:" ? https : http).request(target, options, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        return fail(
          status >= 300 && status < 400
            ? `it answered ${status}, a redirect, and redirects are not followed`
            : `it answered HTTP ${status}`,
        );
      }
      const declared = Number(res.headers["content-length"] ?? 0);
      if (declared > limits.maxBytes) return fail(`its answer of ${declared} bytes is larger than ${limits.maxBytes}`);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) return fail(`its answer is larger than ${limits.maxBytes} bytes`);
        chunks.push(chunk);
      });
      res.on("error", () => fail("the connection broke while reading its answer"));
      res.on("end", () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try {
          resolve({ body: JSON.parse(Buffer.concat(chunks).toString("utf8")), cacheControl: res.headers["cache-control"] });
        } catch {
          reject(new FetchFailedError("its answer is not JSON"));
        }
      });
    });
    // Kept referenced: a token request waits on this fetch.
    const timer = setTimeout(() => fail(`it did not answer within ${limits.timeoutMs} ms`), limits.timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => fail(`it cannot be reached (${err.code ?? "connection failed"})`));
    req.end();
  });
}
