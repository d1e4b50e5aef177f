#!/usr/bin/env node
// Micro-benchmark of what answerUnparsableAsInvalid (src/transport/grpc/unparsable-requests.ts)
// adds to a well-formed unary RPC served by connect's router, from dist/, on one core: the
// wrapper around a handler that answers at once with a success as connect builds it (Connect,
// gRPC, gRPC-Web), body read to the end, against the same handler unwrapped; and the error
// mapping interceptor around a trivial call. The differences are the added CPU per request.
// Not part of `npm run bench`: `npm run build && node bench/unparsable-micro.mjs` (it pins itself
// to CPU 0 when taskset exists). Prints µs of CPU per call without and with, and the difference.
import { spawnSync } from "node:child_process";
import os from "node:os";
import { createContextValues } from "@connectrpc/connect";
import { contentTypeMatcher, createAsyncIterable, encodeEnvelope, untilFirst } from "@connectrpc/connect/protocol";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { Health } from "../dist/gen/grpc/health/v1/health_pb.js";
import { errorMappingInterceptor } from "../dist/src/transport/grpc/errors.js";
import { answerUnparsableAsInvalid } from "../dist/src/transport/grpc/unparsable-requests.js";
import { hasTaskset } from "./lib/procs.mjs";

if (process.env.BENCH_MICRO_PINNED !== "1" && hasTaskset() && os.cpus().length > 1) {
  const r = spawnSync("taskset", ["-c", "0", process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_MICRO_PINNED: "1" },
  });
  process.exit(r.status ?? 1);
}

const method = Health.method.check;
const message = new Uint8Array([0x08, 0x01]); // HealthCheckResponse{status: SERVING}
const frame = encodeEnvelope(0, message);
const okTrailer = trailerSerialize(new Headers({ "grpc-status": "0" }));

// Headers are built once: connect builds them per call either way, and a success leaves them as they are.
const connectHeader = new Headers({ "content-type": "application/proto", "content-length": String(message.byteLength) });
const grpcHeader = new Headers({ "content-type": "application/grpc+proto" });
const grpcTrailer = new Headers({ "grpc-status": "0" });
const grpcWebHeader = new Headers({ "content-type": "application/grpc-web+proto" });
const grpcWebTrailer = encodeEnvelope(trailerFlag, okTrailer);

/** @typedef {import("@connectrpc/connect/protocol").UniversalServerResponse} Answer */
/** @type {Record<string, () => Promise<Answer>>} What connect's handler of each protocol resolves with for a success. */
const answers = {
  "Connect unary": async () => ({ status: 200, header: connectHeader, body: createAsyncIterable([message]) }),
  gRPC: async () => ({ status: 200, header: grpcHeader, body: await untilFirst(createAsyncIterable([frame])), trailer: grpcTrailer }),
  "gRPC-Web": async () => ({ status: 200, header: grpcWebHeader, body: await untilFirst(createAsyncIterable([frame, grpcWebTrailer])) }),
};

/** @type {import("@connectrpc/connect/protocol").UniversalServerRequest} */
const request = {
  httpVersion: "2.0",
  url: "http://127.0.0.1/grpc.health.v1.Health/Check",
  method: "POST",
  header: new Headers(),
  body: createAsyncIterable([]),
  signal: new AbortController().signal,
  contextValues: createContextValues(),
};
const never = () => {
  throw new Error("not expected on a success");
};

/**
 * A handler as connect's router makes it: the function plus what describes its method.
 * @param {() => Promise<Answer>} answer
 * @returns {import("@connectrpc/connect/protocol").UniversalHandler}
 */
function handlerOf(answer) {
  return Object.assign(() => answer(), {
    service: Health,
    method,
    requestPath: "/grpc.health.v1.Health/Check",
    protocolNames: [],
    allowedMethods: ["POST"],
    supportedContentType: contentTypeMatcher(/^application\//),
  });
}

/**
 * One call: the handler's answer, and its body read to the end as connect-node writes it.
 * @param {(req: typeof request) => Promise<Answer>} fn
 */
async function call(fn) {
  const res = await fn(request);
  if (res.body) for await (const _chunk of res.body);
}

const unaryReq = /** @type {import("@connectrpc/connect").UnaryRequest} */ (
  /** @type {unknown} */ ({ stream: false, contextValues: createContextValues(), method })
);
const trivial = async () => /** @type {import("@connectrpc/connect").UnaryResponse} */ (/** @type {unknown} */ ({ stream: false }));
const mapped = errorMappingInterceptor("http://localhost:8080", never)(/** @type {never} */ (trivial));

/** @type {[string, () => Promise<unknown>, () => Promise<unknown>][]} What is added: [name, without, with]. */
const pairs = [];
for (const [protocol, answer] of Object.entries(answers)) {
  const bare = handlerOf(answer);
  const wrapped = answerUnparsableAsInvalid(bare, never, never);
  pairs.push([`${protocol} success, answerUnparsableAsInvalid`, () => call(bare), () => call(wrapped)]);
}
pairs.push(["unary call, errorMappingInterceptor", () => trivial(), () => mapped(unaryReq)]);

/**
 * µs of CPU per call of `fn` over about `ms` of wall time.
 * @param {() => Promise<unknown>} fn
 * @param {number} ms
 */
async function cpuPerCall(fn, ms) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

/**
 * Without and with, measured in alternation (11 rounds of 2 x 0.2 s after a warm-up) so that
 * whatever else runs on the machine weighs on both alike: the medians and the median difference.
 * @param {() => Promise<unknown>} without
 * @param {() => Promise<unknown>} withIt
 */
async function measurePair(without, withIt) {
  for (let i = 0; i < 20_000; i++) {
    await without();
    await withIt();
  }
  /** @type {number[]} */
  const a = [];
  /** @type {number[]} */
  const b = [];
  for (let r = 0; r < 11; r++) {
    a.push(await cpuPerCall(without, 200));
    b.push(await cpuPerCall(withIt, 200));
  }
  return { without: median(a), withIt: median(b), added: median(b.map((x, i) => x - (a[i] ?? NaN))) };
}

process.stdout.write(
  `| added work (from dist/, one core${process.env.BENCH_MICRO_PINNED === "1" ? ", pinned to CPU 0" : ""}) | µs CPU without | with | added per call |\n|---|---:|---:|---:|\n`,
);
for (const [name, without, withIt] of pairs) {
  const m = await measurePair(without, withIt);
  process.stdout.write(`| ${name} | ${m.without.toFixed(2)} | ${m.withIt.toFixed(2)} | ${m.added.toFixed(2)} |\n`);
}
