import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readWholeMessages } from "../../../src/transport/grpc/whole-messages.js";

/** A request-like stream with `headers` whose body arrives as `chunks`, as connect-node sees a node request. */
function request(contentType: string, chunks: Buffer[]): IncomingMessage {
  const r = Readable.from(chunks, { objectMode: false }) as unknown as IncomingMessage;
  (r as { headers: Record<string, string> }).headers = { "content-type": contentType };
  return r;
}

/** Every chunk the (regrouped) request yields to an async reader, as connect-node reads it. */
async function read(req: IncomingMessage): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) out.push(Buffer.from(chunk).toString("hex"));
  return out;
}

const envelope = (payload: string) => {
  const b = Buffer.alloc(5 + payload.length);
  b.writeUInt32BE(payload.length, 1);
  b.write(payload, 5, "latin1");
  return b;
};
const bytes = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

describe("readWholeMessages", () => {
  it("regroups gRPC messages sent one byte at a time into one chunk per message", async () => {
    const body = Buffer.concat([envelope("hello"), envelope(""), envelope("world!")]);
    const req = request("application/grpc", bytes(body));
    readWholeMessages(req, 1024);
    expect(await read(req)).toStrictEqual([envelope("hello"), envelope(""), envelope("world!")].map((b) => b.toString("hex")));
  });

  it("splits several messages that arrive in one chunk (gRPC-Web, Connect streaming)", async () => {
    for (const type of ["application/grpc-web+proto", "application/connect+proto"]) {
      const req = request(type, [Buffer.concat([envelope("a"), envelope("bc"), envelope("d").subarray(0, 3)]), envelope("d").subarray(3)]);
      readWholeMessages(req, 1024);
      expect(await read(req)).toStrictEqual([envelope("a"), envelope("bc"), envelope("d")].map((b) => b.toString("hex")));
    }
  });

  it("passes a truncated message on at the end, for connect-node to report", async () => {
    const req = request("application/grpc", bytes(envelope("hello").subarray(0, 7)));
    readWholeMessages(req, 1024);
    expect(await read(req)).toStrictEqual([envelope("hello").subarray(0, 7).toString("hex")]);
  });

  it("does not hold back a message over the limit: its prefix goes on at once, the rest as it comes", async () => {
    const big = envelope("x".repeat(50));
    const req = request("application/grpc", [big.subarray(0, 6), big.subarray(6, 8), big.subarray(8)]);
    readWholeMessages(req, 10);
    expect(await read(req)).toStrictEqual([big.subarray(0, 6), big.subarray(6, 8), big.subarray(8)].map((b) => b.toString("hex")));
  });

  it("gives a unary Connect body whole, and passes on a body over the limit as soon as it is over", async () => {
    const small = request("application/proto", bytes(Buffer.from("abcdef")));
    readWholeMessages(small, 10);
    expect(await read(small)).toStrictEqual([Buffer.from("abcdef").toString("hex")]);
    const large = request("application/json", bytes(Buffer.from("0123456789abc")));
    readWholeMessages(large, 10);
    expect(await read(large)).toStrictEqual(["0123456789a", "b", "c"].map((s) => Buffer.from(s).toString("hex")));
  });

  it("yields nothing for an empty body", async () => {
    const req = request("application/grpc", []);
    readWholeMessages(req, 10);
    expect(await read(req)).toStrictEqual([]);
  });
});
