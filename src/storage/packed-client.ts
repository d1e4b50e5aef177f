import type { ClientRecord, ScopeCutoff, SecretRecord } from "../core/ports/storage.js";
import { NO_SCOPE_CUTOFFS } from "./scope-cutoffs.js";

/**
 * A client as the client cache keeps it: a handful of heap objects instead of about twenty
 * (record, arrays, secret objects, a Buffer per hash, boxed timestamps). With 100,000 cached
 * clients the garbage collector traces every one of them, and the process holds them all.
 * Lists are joined with NUL, hashes are one latin1 string, and the numbers sit in one array
 * of doubles. `unpack` gives a fresh ClientRecord each time (callers own their copy).
 */
export interface PackedClient {
  readonly clientId: string;
  readonly name: string;
  readonly scopes: string;
  readonly audiences: string;
  readonly secretIds: string;
  /** Every secret's hash, each HASH_BYTES long, as latin1 characters. */
  readonly hashes: string;
  /** The scopes of scopeCutoffs, joined. */
  readonly cutScopes: string;
  /**
   * tokenTtlSeconds, disabled, createTime, updateTime, tokensNotBefore, then per secret
   * createTime, expireTime, lastUsedTime, then each scope cut-off's notBefore; null as NaN.
   */
  readonly nums: number[];
}

const SEP = "\u0000";
const HASH_BYTES = 32;
const HEAD = 5;
const PER_SECRET = 3;

/** A list survives join/split only when no item is empty or holds the separator. */
const joinable = (items: readonly string[]) => items.every((s) => s !== "" && !s.includes(SEP));
const join = (items: readonly string[]) => items.join(SEP);
const split = (s: string) => (s === "" ? [] : s.split(SEP));
const num = (n: number | null) => (n === null ? NaN : n);
const orNull = (n: number) => (Number.isNaN(n) ? null : n);

/**
 * Packs a record, or returns undefined when it has something the packed form cannot hold
 * exactly: also every client that authenticates without a secret (few, and their keys and
 * rules are nested objects the packed form does not hold).
 */
export function packClient(c: ClientRecord): PackedClient | undefined {
  if (c.authMethod !== "client_secret" || c.keys.length > 0 || c.jwksUri !== null || c.federatedCredentials.length > 0) return undefined;
  const ids = c.secrets.map((s) => s.secretId);
  const cutScopes = c.scopeCutoffs.map((x) => x.scope);
  if (!joinable(c.scopes) || !joinable(c.audiences) || !joinable(ids) || !joinable(cutScopes)) return undefined;
  if (c.secrets.some((s) => s.hash.length !== HASH_BYTES)) return undefined;
  const nums = [c.tokenTtlSeconds, c.disabled ? 1 : 0, c.createTime, c.updateTime, num(c.tokensNotBefore)];
  for (const s of c.secrets) nums.push(s.createTime, num(s.expireTime), num(s.lastUsedTime));
  for (const x of c.scopeCutoffs) nums.push(x.notBefore);
  if (nums.some((n) => typeof n !== "number")) return undefined;
  return {
    clientId: c.clientId,
    name: c.name,
    scopes: join(c.scopes),
    audiences: join(c.audiences),
    secretIds: join(ids),
    hashes: c.secrets.map((s) => Buffer.from(s.hash.buffer, s.hash.byteOffset, s.hash.byteLength).toString("latin1")).join(""),
    cutScopes: join(cutScopes),
    // slice(): an exact-size copy (push leaves spare capacity behind, per client).
    nums: nums.slice(),
  };
}

/** A fresh ClientRecord from a packed one. */
export function unpackClient(p: PackedClient): ClientRecord {
  // packClient wrote nums as HEAD numbers, PER_SECRET per secret id, then one per cut scope:
  // every index read below is within that layout.
  const n = p.nums;
  const secrets: SecretRecord[] = split(p.secretIds).map((secretId, i) => {
    const at = HEAD + i * PER_SECRET;
    return {
      secretId,
      hash: Buffer.from(p.hashes.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES), "latin1"),
      createTime: n[at]!,
      expireTime: orNull(n[at + 1]!),
      lastUsedTime: orNull(n[at + 2]!),
    };
  });
  return {
    clientId: p.clientId,
    name: p.name,
    scopes: split(p.scopes),
    audiences: split(p.audiences),
    tokenTtlSeconds: n[0]!,
    disabled: n[1] === 1,
    createTime: n[2]!,
    updateTime: n[3]!,
    tokensNotBefore: orNull(n[4]!),
    scopeCutoffs: p.cutScopes === "" ? NO_SCOPE_CUTOFFS : unpackCutoffs(p, HEAD + secrets.length * PER_SECRET),
    secrets,
    // Only secret clients without keys or rules are packed (packClient).
    authMethod: "client_secret",
    keys: [],
    jwksUri: null,
    federatedCredentials: [],
  };
}

// `at` starts the cut-offs' numbers in the layout; one per cut scope.
function unpackCutoffs(p: PackedClient, at: number): readonly ScopeCutoff[] {
  return split(p.cutScopes).map((scope, i) => ({ scope, notBefore: p.nums[at + i]! }));
}

/** Moves the packed secrets' last-used times forward to those in `uses` (never back). */
export function recordUseInPacked(p: PackedClient, uses: ReadonlyMap<string, number>): void {
  const ids = split(p.secretIds);
  // i < ids.length, and each secret id has PER_SECRET numbers in the layout (see unpackClient).
  for (let i = 0; i < ids.length; i++) {
    const t = uses.get(ids[i]!);
    if (t === undefined) continue;
    const at = HEAD + i * PER_SECRET + 2;
    const last = p.nums[at]!;
    if (Number.isNaN(last) || last < t) p.nums[at] = t;
  }
}
