import type { IssueTokenRequest } from "../../../gen/tessera/v1/token_service_pb.js";
import type { TokenResponse } from "../../core/token-request.js";

/** The fields of an IssueTokenRequest the token path reads. */
export type IssueTokenFields = Pick<
  IssueTokenRequest,
  "clientId" | "clientSecret" | "scope" | "audience" | "clientAssertionType" | "clientAssertion"
>;

// Tags of fields 1-6 with wire type 2 (length-delimited): (field << 3) | 2.
const CLIENT_ID = 0x0a;
const CLIENT_SECRET = 0x12;
const SCOPE = 0x1a;
const AUDIENCE = 0x22;
const CLIENT_ASSERTION_TYPE = 0x2a;
const CLIENT_ASSERTION = 0x32;
// proto3 strings must be UTF-8; protobuf-es validates them too and refuses the message. A leading
// U+FEFF is kept, as protobuf-es keeps it (exact-strings.ts): it is part of what was sent.
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes the IssueTokenRequest every client sends (fields 1-6, each a string, tags below 16)
 * without the generic protobuf-es reader, which costs more than the rest of the call's parsing.
 * Returns undefined for anything else (unknown fields, other wire types, a truncated or
 * non-UTF-8 string): the caller then decodes with protobuf-es, so odd messages keep exactly
 * its behaviour and errors. Later occurrences of a singular field win, as protobuf requires.
 */
export function decodeIssueTokenRequest(buf: Uint8Array): IssueTokenFields | undefined {
  const out: IssueTokenFields = { clientId: "", clientSecret: "", scope: "", audience: [], clientAssertionType: "", clientAssertion: "" };
  let i = 0;
  // Every buf[i++] below is guarded by i < buf.length.
  while (i < buf.length) {
    const tag = buf[i++]!;
    if (tag < CLIENT_ID || tag > CLIENT_ASSERTION || (tag & 7) !== 2) return undefined;
    // Length: a varint of at most 4 bytes (messages are capped far below 2^28 bytes).
    let len = 0;
    let shift = 0;
    let b: number;
    do {
      if (i >= buf.length || shift > 21) return undefined;
      b = buf[i++]!;
      len |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (len > buf.length - i) return undefined;
    let s: string;
    try {
      s = len === 0 ? "" : STRICT_UTF8.decode(buf.subarray(i, i + len));
    } catch {
      return undefined;
    }
    i += len;
    if (tag === CLIENT_ID) out.clientId = s;
    else if (tag === CLIENT_SECRET) out.clientSecret = s;
    else if (tag === SCOPE) out.scope = s;
    else if (tag === AUDIENCE) out.audience.push(s);
    else if (tag === CLIENT_ASSERTION_TYPE) out.clientAssertionType = s;
    else out.clientAssertion = s;
  }
  return out;
}

/**
 * Encodes the IssueTokenResponse for a token answer directly into one gRPC frame (the 5-byte
 * prefix, then the message): the bytes protobuf-es's toBinary gives, with fields in number
 * order and empty strings left out (proto3 implicit presence), without its reflection.
 */
export function encodeIssueTokenFrame(res: TokenResponse): Buffer {
  const scope = res.scope ?? "";
  const tokenLen = Buffer.byteLength(res.access_token);
  const typeLen = Buffer.byteLength(res.token_type);
  const scopeLen = Buffer.byteLength(scope);
  const expires = res.expires_in;
  if (!Number.isInteger(expires) || expires < 0 || expires > 0x7fffffff) {
    throw new RangeError(`expires_in ${expires} is not a non-negative int32`);
  }
  const size =
    (tokenLen > 0 ? 1 + varintSize(tokenLen) + tokenLen : 0) +
    (typeLen > 0 ? 1 + varintSize(typeLen) + typeLen : 0) +
    (expires > 0 ? 1 + varintSize(expires) : 0) +
    (scopeLen > 0 ? 1 + varintSize(scopeLen) + scopeLen : 0);
  const frame = Buffer.allocUnsafe(5 + size);
  frame[0] = 0; // not compressed
  frame.writeUInt32BE(size, 1);
  let i = 5;
  const str = (tag: number, s: string, len: number) => {
    if (len === 0) return;
    frame[i++] = tag;
    i = writeVarint(frame, i, len);
    i += frame.write(s, i, "utf8");
  };
  str(0x0a, res.access_token, tokenLen);
  str(0x12, res.token_type, typeLen);
  if (expires > 0) {
    frame[i++] = 0x18; // field 3, varint
    i = writeVarint(frame, i, expires);
  }
  str(0x22, scope, scopeLen);
  return frame;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, i: number, n: number): number {
  while (n >= 0x80) {
    buf[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[i++] = n;
  return i;
}
