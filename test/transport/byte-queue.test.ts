import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteQueue } from "../../src/transport/byte-queue.js";

describe("ByteQueue", () => {
  it("takes whole pieces across chunk boundaries, in order", () => {
    const q = new ByteQueue();
    for (const c of ["ab", "", "c", "defg", "h"]) q.push(Buffer.from(c));
    expect(q.length).toBe(8);
    expect(q.take(3).toString()).toBe("abc");
    expect(q.take(1).toString()).toBe("d");
    expect(q.uint32At(0)).toBe(Buffer.from("efgh").readUInt32BE(0));
    expect(q.takeAll().toString()).toBe("efgh");
    expect(q.length).toBe(0);
  });

  it("hands back a view, not a copy, when one chunk holds the piece", () => {
    const q = new ByteQueue();
    const chunk = Buffer.from("hello world");
    q.push(chunk);
    const piece = q.take(5);
    expect(piece.buffer).toBe(chunk.buffer);
    expect(q.takeAll().toString()).toBe(" world");
  });

  it("gives back exactly the bytes pushed, however they were chunked and taken", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 25 })),
        (chunks, takes) => {
          const q = new ByteQueue();
          for (const c of chunks) q.push(Buffer.from(c));
          const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
          const out: Buffer[] = [];
          for (const n of takes) if (q.length >= n) out.push(q.take(n));
          if (q.length >= 4) expect(q.uint32At(0)).toBe(all.readUInt32BE(all.length - q.length));
          if (q.length > 0) out.push(q.takeAll());
          expect(Buffer.concat(out).equals(all)).toBe(true);
        },
      ),
    );
  });
});
