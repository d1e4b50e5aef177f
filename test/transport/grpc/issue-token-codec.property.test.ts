import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IssueTokenRequestSchema, IssueTokenResponseSchema } from "../../../gen/tessera/v1/token_service_pb.js";
import { decodeIssueTokenRequest, encodeIssueTokenFrame } from "../../../src/transport/grpc/issue-token-codec.js";
import { toIssueTokenResponse } from "../../../src/transport/grpc/token-requests.js";

// The gRPC fast path's hand-written codec must agree with protobuf-es byte for byte: these
// properties compare it with the generated schema on random messages and random bytes.

const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ minLength: 100, maxLength: 400 }));
const fields = fc.record({
  clientId: text,
  clientSecret: text,
  scope: text,
  audience: fc.array(text, { maxLength: 4 }),
  clientAssertionType: fc.oneof(text, fc.constant("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")),
  // A JWT's length: longer than 127 bytes, so its length takes a two-byte varint.
  clientAssertion: fc.oneof(text, fc.string({ minLength: 300, maxLength: 2000 })),
});
type Fields = {
  clientId: string;
  clientSecret: string;
  scope: string;
  audience: string[];
  clientAssertionType: string;
  clientAssertion: string;
};
const plain = (m: Fields) => ({
  clientId: m.clientId,
  clientSecret: m.clientSecret,
  scope: m.scope,
  audience: [...m.audience],
  clientAssertionType: m.clientAssertionType,
  clientAssertion: m.clientAssertion,
});
const empty = { clientId: "", clientSecret: "", scope: "", audience: [], clientAssertionType: "", clientAssertion: "" };

describe("decodeIssueTokenRequest", () => {
  it("reads every message protobuf-es writes exactly as protobuf-es reads it", () => {
    fc.assert(
      fc.property(fields, (f) => {
        const bytes = toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, f));
        expect(decodeIssueTokenRequest(bytes)).toEqual(plain(fromBinary(IssueTokenRequestSchema, bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it("on arbitrary bytes, either agrees with protobuf-es or declines (never a different answer)", () => {
    const arbitrary = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Mostly valid messages with a few bytes flipped, dropped or appended.
      fc
        .tuple(fields, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat(8))
        .map(([f, flips, cut]) => {
          const b = toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, f));
          const out = Uint8Array.from(b.subarray(0, Math.max(0, b.length - cut)));
          for (const [at, v] of flips) if (out.length > 0) out[at % out.length] = v;
          return out;
        }),
    );
    fc.assert(
      fc.property(arbitrary, (bytes) => {
        const ours = decodeIssueTokenRequest(bytes);
        if (ours === undefined) return;
        expect(ours).toEqual(plain(fromBinary(IssueTokenRequestSchema, bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it("lets a later singular field win and collects repeated audiences, as protobuf does", () => {
    const a = toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, { clientId: "first", audience: ["https://a"] }));
    const b = toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, { clientId: "second", audience: ["https://b"] }));
    expect(decodeIssueTokenRequest(Uint8Array.from([...a, ...b]))).toEqual({
      ...empty,
      clientId: "second",
      audience: ["https://a", "https://b"],
    });
  });

  it("reads the client assertion fields (5 and 6) itself: a private_key_jwt request stays on the fast path", () => {
    const assertion = `eyJhbGciOiJFUzI1NiJ9.${"e".repeat(400)}.sig`;
    const bytes = toBinary(
      IssueTokenRequestSchema,
      create(IssueTokenRequestSchema, {
        clientId: "c1",
        clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        clientAssertion: assertion,
      }),
    );
    expect(decodeIssueTokenRequest(bytes)).toEqual({
      ...empty,
      clientId: "c1",
      clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      clientAssertion: assertion,
    });
  });

  it("declines unknown fields, other wire types and invalid UTF-8, leaving them to protobuf-es", () => {
    expect(decodeIssueTokenRequest(Uint8Array.from([0x3a, 0x01, 0x41]))).toBeUndefined(); // field 7
    expect(decodeIssueTokenRequest(Uint8Array.from([0x28, 0x01]))).toBeUndefined(); // field 5 as varint
    expect(decodeIssueTokenRequest(Uint8Array.from([0x08, 0x01]))).toBeUndefined(); // field 1 as varint
    expect(decodeIssueTokenRequest(Uint8Array.from([0x0a, 0x02, 0xc3, 0x28]))).toBeUndefined(); // bad UTF-8
    expect(decodeIssueTokenRequest(Uint8Array.from([0x0a, 0x05, 0x41]))).toBeUndefined(); // truncated
    expect(decodeIssueTokenRequest(new Uint8Array(0))).toEqual(empty);
  });
});

describe("encodeIssueTokenFrame", () => {
  const response = fc.record(
    {
      access_token: text,
      token_type: fc.constant("Bearer" as const),
      expires_in: fc.oneof(fc.integer({ min: 0, max: 0x7fffffff }), fc.constantFrom(0, 1, 127, 128, 3600, 16_383, 16_384)),
      scope: fc.option(text, { nil: undefined }),
    },
    { requiredKeys: ["access_token", "token_type", "expires_in"] },
  );

  it("writes the gRPC frame of exactly the bytes protobuf-es writes", () => {
    fc.assert(
      fc.property(response, (res) => {
        const message = toBinary(IssueTokenResponseSchema, toIssueTokenResponse(res));
        const frame = encodeIssueTokenFrame(res);
        expect(frame[0]).toBe(0);
        expect(frame.readUInt32BE(1)).toBe(message.length);
        expect(Buffer.from(frame.subarray(5)).equals(Buffer.from(message))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses an expires_in that is not a non-negative int32 instead of writing a wrong varint", () => {
    for (const bad of [-1, 1.5, 2 ** 31]) {
      expect(() => encodeIssueTokenFrame({ access_token: "t", token_type: "Bearer", expires_in: bad })).toThrow(RangeError);
    }
  });
});
