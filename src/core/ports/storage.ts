import type { JsonWebKey } from "node:crypto";

/** Metadata and hash of one client secret; the secret itself is never stored. */
export interface SecretRecord {
  secretId: string;
  /** SHA-256 of the secret. */
  hash: Uint8Array;
  createTime: number;
  /** Epoch ms after which the secret no longer authenticates; null = never. */
  expireTime: number | null;
  lastUsedTime: number | null;
}

/** A registered OAuth client as kept by storage. Times are epoch milliseconds. */
export interface ClientRecord {
  clientId: string;
  name: string;
  scopes: string[];
  audiences: string[];
  tokenTtlSeconds: number;
  disabled: boolean;
  createTime: number;
  updateTime: number;
  /**
   * Epoch ms, a whole second: tokens issued to this client with `iat` before it are
   * inactive (client cut-off). Null when never cut off.
   */
  tokensNotBefore: number | null;
  /**
   * Cut-offs of scopes taken away from the client, for as long as a token issued before them
   * may be unexpired: giving a scope back does not revive the tokens issued while it was held
   * before. Usually empty.
   */
  scopeCutoffs: readonly ScopeCutoff[];
  /** The client's secrets, newest first, including expired ones not yet pruned. */
  secrets: SecretRecord[];
  /** How the client authenticates; it is refused any other way. */
  authMethod: ClientAuthKind;
  /** Public keys registered for private_key_jwt, in the order added; empty with a jwksUri. */
  keys: ClientKey[];
  /** Where the client publishes its keys for private_key_jwt, instead of registered keys. */
  jwksUri: string | null;
  /** Trust rules for workload identity federation, in the order added. */
  federatedCredentials: FederatedCredential[];
}

/**
 * How a client proves who it is: with a secret (client_secret_basic or client_secret_post),
 * with a JWT signed by one of its own keys (private_key_jwt, RFC 7523 §2.2), or with a
 * workload's platform token that one of its federated credentials trusts.
 */
export type ClientAuthKind = "client_secret" | "private_key_jwt" | "federated";

/** A public key (RFC 7517 JWK, public members only) a client signs its assertions with. */
export interface ClientKey {
  /** The key's id, unique within the client; the JWK's own kid. */
  kid: string;
  /** The public JWK, kid included. */
  jwk: JsonWebKey;
  createTime: number;
}

/** Where a federated credential's verification keys come from. */
export type FederatedKeySource =
  /** The issuer's OpenID discovery document (`<issuer>/.well-known/openid-configuration`) names the JWKS. */
  | { kind: "oidc_discovery" }
  /** A JWKS URL given explicitly (a SPIFFE bundle endpoint, a cluster's JWKS). */
  | { kind: "jwks_uri"; uri: string }
  /** Keys given once, for issuers Tessera cannot reach (a private cluster). */
  | { kind: "jwks"; keys: JsonWebKey[] };

/** A condition on one claim of a platform token: it must equal one of `values` (one value: equals). */
export interface ClaimCondition {
  claim: string;
  values: string[];
}

/** A trust rule: which platform tokens authenticate the client that holds it. */
export interface FederatedCredential {
  credentialId: string;
  name: string;
  /** The token's `iss`, compared exactly. */
  issuer: string;
  /** The token's `sub`, compared exactly. */
  subject: string;
  keySource: FederatedKeySource;
  /** The token's sole audience. */
  audience: string;
  conditions: ClaimCondition[];
  /** How old (now - iat) a token may be. */
  maxAgeSeconds: number;
  /** Whether the token must carry a jti, each used once. */
  requireJti: boolean;
  createTime: number;
}

/** Tokens carrying `scope` with `iat` before `notBefore` (epoch ms, a whole second) are inactive. */
export interface ScopeCutoff {
  readonly scope: string;
  readonly notBefore: number;
}

/** What taking scopes away from a client records (see ClientPatch.scopeRemoval). */
export interface ScopeRemoval {
  /** The cut-off for tokens carrying a scope the change takes away: epoch ms, a whole second. */
  notBefore: number;
  /** Cut-offs at or before this time are dropped: every token they could refuse has expired. */
  forgetBefore: number;
}

/**
 * What a deleted client leaves behind under its id, so that a client created again with the
 * same id does not inherit the deleted one's tokens.
 */
export interface ClientTombstone {
  /** The cut-off the next client with this id starts with: epoch ms, a whole second. */
  tokensNotBefore: number;
  /** When every token of the deleted client has expired; the tombstone is pruned after it. */
  expireTime: number;
}

/** The mutable fields of a client; absent (or undefined) fields are left unchanged. */
export interface ClientPatch {
  name?: string | undefined;
  scopes?: string[] | undefined;
  audiences?: string[] | undefined;
  tokenTtlSeconds?: number | undefined;
  disabled?: boolean | undefined;
  tokensNotBefore?: number | undefined;
  /**
   * With `scopes`: every scope the client holds and the new list lacks gets this cut-off (kept
   * at the later of an earlier one and this), in the same transaction as the change.
   */
  scopeRemoval?: ScopeRemoval | undefined;
  /** A new auth method; away from client_secret, the client's secrets are deleted in the same transaction. */
  authMethod?: ClientAuthKind | undefined;
  /** A new jwks_uri, or null to remove it; refused (ClientCredentialConflictError) while the client has keys. */
  jwksUri?: string | null | undefined;
  /** A key to add; refused when its kid is taken or the client has a jwks_uri. */
  addKey?: ClientKey | undefined;
  /** The kid of a key to remove (no error when it is gone already). */
  removeKid?: string | undefined;
  /** A federated credential to add; refused when the client has one for the same issuer and subject. */
  addFederatedCredential?: FederatedCredential | undefined;
  /** The id of a federated credential to remove (no error when it is gone already). */
  removeFederatedCredentialId?: string | undefined;
}

/**
 * Thrown by updateClient when a patch would leave the client's credentials contradictory (a
 * kid or an issuer and subject taken twice, keys and a jwks_uri at once); nothing is written.
 */
export class ClientCredentialConflictError extends Error {
  override readonly name = "ClientCredentialConflictError";
}

/** Where a signing key is in its lifecycle: next -> current -> retired -> removed. */
export type SigningKeyStatus = "next" | "current" | "retired";

/** A signing key as stored. */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** The private JWK as JSON, or an encrypted envelope of it (see keys/key-encryption.ts). */
  privateKey: string;
  publicJwk: string;
  status: SigningKeyStatus;
  createTime: number;
  /** When the key started signing; null while next. */
  activateTime: number | null;
  /** When the key stopped signing; null unless retired. */
  retireTime: number | null;
}

/** Changes to the signing keys, applied in one transaction. */
export interface SigningKeyPlan<T> {
  /** Records to insert or replace, by kid. */
  upsert: SigningKeyRecord[];
  /** Kids to delete. */
  remove: string[];
  result: T;
}

/**
 * Thrown when the store cannot be written right now (disk full, read-only, locked too long) or,
 * for a database server, cannot be reached. Reads of a local file keep working; callers answer
 * "unavailable, retry later", never a 500.
 */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
}

/**
 * Thrown when the store was written by a newer Tessera (its schema version is higher than this
 * build knows): refusing is safer than misreading it.
 */
export class SchemaTooNewError extends Error {
  override readonly name = "SchemaTooNewError";
}

/** One administrative change, stored in the same transaction as the change itself. */
export interface AuditEvent {
  /** Assigned by storage, increasing. */
  eventId?: number;
  time: number;
  /** The admin client id, or "bootstrap" / "cli" for local commands. */
  actor: string;
  /** e.g. "client.create", "client.update", "keys.rotate". */
  action: string;
  /** The client id or key id changed. */
  target: string;
  /** The fields set; never a secret or a hash. */
  changes: Record<string, unknown>;
  /** Network address of the request, or "local". */
  origin: string;
}

/** Thrown by `createClient` when the id is taken. */
export class ClientExistsError extends Error {
  override readonly name = "ClientExistsError";
}

/**
 * The storage port. Every adapter passes test/storage/conformance.ts. Reads must see what
 * other processes committed to the same store (no stale caches without a bound).
 */
export interface Storage {
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  /**
   * Inserts a client with its first secret; throws ClientExistsError when the id is taken.
   * When a deleted client left a tombstone under the id, the new client's tokensNotBefore is
   * raised to the tombstone's (and the tombstone goes). Returns the client as stored.
   * Every mutating method takes an optional audit event, written in the same transaction
   * only when the change happens.
   */
  createClient(client: ClientRecord, audit?: AuditEvent): Promise<ClientRecord>;
  /** Applies a patch; returns the updated client, or undefined when it does not exist. */
  updateClient(clientId: string, patch: ClientPatch, now: number, audit?: AuditEvent): Promise<ClientRecord | undefined>;
  /**
   * Deletes a client and its secrets, leaving `tombstone` under its id when given (replacing an
   * older one); false when it did not exist.
   */
  deleteClient(clientId: string, audit?: AuditEvent, tombstone?: ClientTombstone): Promise<boolean>;
  /** Clients with id > `afterId`, ordered by id, at most `limit`. */
  listClients(afterId: string, limit: number): Promise<ClientRecord[]>;
  /**
   * Adds `secret` to a client and, in the same transaction, makes every other secret expire at
   * `othersExpireAt` at the latest and drops secrets already expired at `now`.
   */
  rotateSecret(
    clientId: string,
    secret: SecretRecord,
    othersExpireAt: number,
    now: number,
    audit?: AuditEvent,
  ): Promise<ClientRecord | undefined>;
  /** Records when secrets were last used; a batch, so issuance never writes per request. */
  recordSecretUse(uses: ReadonlyMap<string, number>): Promise<void>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /**
   * Reads all signing keys and applies the plan `decide` makes from them, atomically: two
   * processes deciding at once see each other's result, never a half-applied one. `decide`
   * is synchronous and may throw to abort.
   */
  updateSigningKeys<T>(decide: (keys: SigningKeyRecord[]) => SigningKeyPlan<T>, audit?: (result: T) => AuditEvent | undefined): Promise<T>;

  /** Adds a token to the deny-list until `expireTime` (its own exp); idempotent. */
  revokeToken(jti: string, clientId: string, expireTime: number): Promise<void>;
  /** Whether `jti` is on the deny-list. */
  isTokenRevoked(jti: string): Promise<boolean>;
  /**
   * Drops deny-list entries and client tombstones that expired before `before`; returns how
   * many deny-list entries it dropped.
   */
  pruneRevokedTokens(before: number): Promise<number>;

  /** Audit events newest first, with eventId below `beforeId` (all when undefined), optionally for one target. */
  listAuditEvents(beforeId: number | undefined, limit: number, target?: string): Promise<AuditEvent[]>;
  /** Sizes for metrics. */
  counts(): Promise<{ clients: number; revokedTokens: number }>;

  getMeta(key: string): Promise<string | undefined>;
  /** Sets `key` only when unset (or always, with `overwrite`); returns whether it wrote. */
  setMeta(key: string, value: string, overwrite: boolean): Promise<boolean>;

  /**
   * Rewrites the store so that nothing deleted or overwritten so far (a private key before it
   * was encrypted) remains anywhere in its files. Expensive (the whole store is rewritten):
   * called after signing keys are encrypted or re-encrypted, never on a request path.
   */
  purgeDeletedData(): Promise<void>;

  /** A number that changes whenever another process commits; used to reload caches. */
  changeToken(): Promise<number>;
  close(): Promise<void>;

  /**
   * The replay store of client assertions (RFC 7523 §3: a jti is used once): records `jti` for
   * `clientId` until `expireTime` and returns true, or returns false when the pair is recorded
   * already and unexpired at `now`. Atomic across every process and instance sharing the store:
   * of concurrent calls with one pair, exactly one returns true. Changes no client, so caches
   * of clients stay as they are.
   */
  recordAssertionJti(clientId: string, jti: string, expireTime: number, now: number): Promise<boolean>;
  /** Drops replay-store entries that expired before `before`; returns how many. */
  pruneAssertionJtis(before: number): Promise<number>;
  /** Appends audit events of something that changed no stored data (tokens issued to federated workloads). */
  recordAuditEvents(events: readonly AuditEvent[]): Promise<void>;

  /**
   * Calls `listener` soon after any process commits a change, when the store can tell (a hint
   * to read changeToken() now rather than at the next poll: PostgreSQL's NOTIFY); stores that
   * cannot never call it. Returns a function that stops the calls.
   */
  subscribeChanges(listener: () => void): () => void;

  /**
   * Everything the store holds, for moving it to another store: meta, signing keys exactly as
   * stored (KEK envelopes included), clients with their secrets' hashes and cut-offs, client
   * tombstones, the deny-list, and the audit trail with its ids. In batches, each kind in the
   * byte order of its key (the audit trail by id), all read from one consistent snapshot.
   */
  exportRecords(): AsyncIterable<StoreRecord[]>;
  /**
   * Writes the records of another store's exportRecords() into this one, in one transaction
   * (all or nothing), keeping audit ids (later events get higher ones). Throws StoreNotEmptyError
   * unless the store is empty, or `replace` is set: then everything in it is deleted first.
   */
  importRecords(batches: AsyncIterable<readonly StoreRecord[]>, options: { replace: boolean }): Promise<void>;
}

/** One record of a store, as exportRecords() yields it and importRecords() takes it. */
export type StoreRecord =
  | { kind: "meta"; key: string; value: string }
  | { kind: "signing_key"; key: SigningKeyRecord }
  | { kind: "client"; client: ClientRecord }
  | { kind: "client_tombstone"; clientId: string; tombstone: ClientTombstone }
  | { kind: "revoked_token"; jti: string; clientId: string; expireTime: number }
  | { kind: "audit_event"; event: AuditEvent & { eventId: number } };

/** The kinds of StoreRecord, in the order exportRecords() yields them. */
export const STORE_RECORD_KINDS = ["meta", "signing_key", "client", "client_tombstone", "revoked_token", "audit_event"] as const;

/** Thrown by importRecords into a store that already holds something (and `replace` is not set). */
export class StoreNotEmptyError extends Error {
  override readonly name = "StoreNotEmptyError";

  /** `found`: how many records of each kind the store holds (kinds it has none of are left out). */
  constructor(readonly found: Readonly<Partial<Record<StoreRecord["kind"], number>>>) {
    super(
      `the store is not empty (${Object.entries(found)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ")})`,
    );
  }
}
