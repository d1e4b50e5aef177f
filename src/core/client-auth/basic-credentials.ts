import { OAuthError } from "../errors.js";
import { formDecode } from "../form-decode.js";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const MALFORMED_PART = "The Basic credentials are not form-urlencoded UTF-8 (RFC 6749 Appendix B): a '%' escape is malformed or not UTF-8";

/**
 * Decodes `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1 and Appendix B:
 * both parts are form-urlencoded before base64). Shared by the HTTP and gRPC doors.
 * Returns undefined when the header uses another scheme.
 */
export function parseBasicAuthorization(header: string): { clientId: string; clientSecret: string } | undefined {
  const b64 = /^basic +(.*)$/is.exec(header)?.[1]?.trim();
  if (b64 === undefined) return undefined;
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) {
    throw new OAuthError("invalid_request", "The Authorization header is not valid Basic credentials (bad base64)");
  }
  let decoded: string;
  try {
    decoded = STRICT_UTF8.decode(Buffer.from(b64, "base64"));
  } catch {
    throw new OAuthError("invalid_request", "The Authorization header is not valid Basic credentials (not UTF-8)");
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) {
    throw new OAuthError("invalid_request", "The Authorization header is not valid Basic credentials (no colon)");
  }
  const clientId = formDecode(decoded.slice(0, colon), MALFORMED_PART);
  const clientSecret = formDecode(decoded.slice(colon + 1), MALFORMED_PART);
  if (clientId === "") throw new OAuthError("invalid_request", "The Basic credentials have an empty client id");
  return { clientId, clientSecret };
}
