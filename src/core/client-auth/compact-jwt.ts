/** The parts of a compact JWS (RFC 7515 §7.1) carrying a JWT, decoded but not yet verified. */
export interface CompactJwt {
  /** The compact form as sent, for the signature check. */
  readonly compact: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

// Longer assertions are refused before any decoding (a platform token is ~1-2 KB; RS4096 signatures ~700 B).
const MAX_LENGTH = 16_384;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes a compact JWS whose header and payload are JSON objects; undefined for anything else
 * (a JWE's five parts, an unsigned "x.y." token, bad base64url or JSON). Nothing is verified.
 */
export function decodeCompactJwt(compact: string): CompactJwt | undefined {
  if (compact.length > MAX_LENGTH) return undefined;
  const parts = compact.split(".");
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  if (!BASE64URL.test(h) || !BASE64URL.test(p) || !BASE64URL.test(s)) return undefined;
  const header = jsonObject(h);
  const claims = jsonObject(p);
  if (header === undefined || claims === undefined) return undefined;
  return { compact, header, claims };
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(STRICT_UTF8.decode(Buffer.from(part, "base64url")));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
