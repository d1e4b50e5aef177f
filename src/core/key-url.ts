import { AdminError } from "./errors.js";
import { keyUrlProblem } from "./ports/key-sets.js";
import { preview } from "./preview.js";

const MAX_URL_LENGTH = 2000;

/**
 * Checks a URL keys are fetched from (a client's jwks_uri, a federated issuer or its jwks_uri):
 * an absolute https URL of printable ASCII without a fragment (see keyUrlProblem for plain
 * http). Returns it exactly as given: issuers are compared as strings.
 */
export function checkKeyUrl(raw: string, field: string, allowHttpLoopback: boolean): string {
  if (raw.length === 0 || raw.length > MAX_URL_LENGTH || !/^[\x21-\x7E]+$/.test(raw)) {
    throw new AdminError("invalid_argument", `${field} must be a URL of 1-${MAX_URL_LENGTH} printable ASCII characters without spaces`);
  }
  if (!URL.canParse(raw)) throw new AdminError("invalid_argument", `${field} ${preview(raw)} is not an absolute URL`);
  const url = new URL(raw);
  const problem = url.hash !== "" || raw.includes("#") ? "it must not have a fragment" : keyUrlProblem(url, allowHttpLoopback);
  if (problem !== undefined) throw new AdminError("invalid_argument", `${field} ${preview(raw)} is refused: ${problem}`);
  return raw;
}
