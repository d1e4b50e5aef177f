// A small load generator in Node, used only by --quick when wrk or h2load is missing: it proves
// the targets work under concurrency (every answer checked), it does not measure speed.
import http from "node:http";
import http2 from "node:http2";

/** @typedef {{ requests: number, rps: number, generator: "node" }} NodeRound */

/**
 * `connections` keep-alive HTTP/1.1 loops POSTing for `seconds` (`body`, or a new `nextBody()`
 * per request); throws on any non-200.
 * @param {{ url: string, authorization: string, body: string, nextBody?: (() => string) | undefined, connections: number, seconds: number, label: string }} o
 * @returns {Promise<NodeRound>}
 */
export async function nodeHttpRound({ url, authorization, body: fixedBody, nextBody, connections, seconds, label }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const u = new URL(url);
  const deadline = Date.now() + seconds * 1000;
  let ok = 0;
  /** @type {(string | number | undefined)[]} */
  const bad = [];
  /** @returns {Promise<void>} */
  const one = () =>
    new Promise((resolve) => {
      const body = nextBody ? nextBody() : fixedBody;
      const headers = {
        ...(authorization ? { authorization } : {}),
        "content-type": "application/x-www-form-urlencoded",
        "content-length": Buffer.byteLength(body),
      };
      const req = http.request(
        { agent, host: u.hostname, port: u.port, path: u.pathname, method: "POST", timeout: 10_000, headers },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) ok++;
            else bad.push(res.statusCode);
            resolve();
          });
        },
      );
      req.on("error", (/** @type {NodeJS.ErrnoException} */ err) => {
        bad.push(err.code ?? err.message);
        resolve();
      });
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let i = 0; i < 1_000_000 && Date.now() < deadline && bad.length === 0; i++) await one();
    }),
  );
  agent.destroy();
  if (bad.length) throw new Error(`ROUND FAILED (${label}): ${bad.length} bad answers, first: ${bad[0]}`);
  return { requests: ok, rps: ok / ((performance.now() - t0) / 1000), generator: "node" };
}

/**
 * `connections` h2c sessions sending the gRPC frame for `seconds`; throws unless every reply has grpc-status 0.
 * @param {{ baseUrl: string, path: string, frame: Buffer, connections: number, seconds: number, label: string }} o
 * @returns {Promise<NodeRound>}
 */
export async function nodeGrpcRound({ baseUrl, path, frame, connections, seconds, label }) {
  const deadline = Date.now() + seconds * 1000;
  let ok = 0;
  /** @type {(string | number | undefined)[]} */
  const bad = [];
  const sessions = Array.from({ length: connections }, () => http2.connect(baseUrl));
  for (const s of sessions) s.on("error", (/** @type {NodeJS.ErrnoException} */ err) => bad.push(err.code ?? err.message));
  /**
   * @param {http2.ClientHttp2Session} s
   * @returns {Promise<void>}
   */
  const one = (s) =>
    new Promise((resolve) => {
      const req = s.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      /** @type {string | string[] | undefined} */
      let status;
      let bytes = 0;
      req.setTimeout(10_000, () => req.close());
      req.on("response", (h) => (status = h["grpc-status"]));
      req.on("trailers", (t) => (status = t["grpc-status"]));
      req.on("data", (c) => (bytes += c.length));
      req.on("error", (/** @type {NodeJS.ErrnoException} */ err) => bad.push(err.code ?? err.message));
      req.on("close", () => {
        if (String(status) === "0" && bytes > 5) ok++;
        else bad.push(`grpc-status ${status}`);
        resolve();
      });
      req.end(frame);
    });
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = 0; i < 1_000_000 && Date.now() < deadline && bad.length === 0; i++) await one(s);
    }),
  );
  for (const s of sessions) s.destroy();
  if (bad.length) throw new Error(`ROUND FAILED (${label}): ${bad.length} bad answers, first: ${bad[0]}`);
  return { requests: ok, rps: ok / ((performance.now() - t0) / 1000), generator: "node" };
}
