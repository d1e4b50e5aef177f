import { AdminError } from "./errors.js";

/** Items per page when the caller asks for none (page_size 0). */
const DEFAULT_PAGE_SIZE = 50;
/** The most items one page may hold. */
const MAX_PAGE_SIZE = 1000;

/** The page size to use for a request's page_size (AIP-158: 0 means the server's default). */
export function pageSize(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0 || requested > MAX_PAGE_SIZE) {
    throw new AdminError("invalid_argument", `page_size must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return requested === 0 ? DEFAULT_PAGE_SIZE : requested;
}

/**
 * Where a request's page_token says the page starts: undefined for the first page (""), the
 * position for a token this server made (base64url of a position that `valid` accepts, in
 * its one canonical spelling); anything else is refused, naming the RPC that makes them.
 */
export function pagePosition(token: string, rpc: string, valid: (position: string) => boolean): string | undefined {
  if (token === "") return undefined;
  const position = Buffer.from(token, "base64url").toString("utf8");
  if (!valid(position) || Buffer.from(position).toString("base64url") !== token) {
    throw new AdminError("invalid_argument", `page_token is not a token returned by ${rpc}`);
  }
  return position;
}

/**
 * One page of `rows`, which were read with one row more than `size` to tell whether another
 * page follows; its page token is the position of the page's last item.
 */
export function onePage<T>(rows: readonly T[], size: number, positionOf: (item: T) => string): { items: T[]; nextPageToken: string } {
  const items = rows.slice(0, size);
  const last = items.at(-1);
  const nextPageToken = rows.length > size && last !== undefined ? Buffer.from(positionOf(last)).toString("base64url") : "";
  return { items, nextPageToken };
}
