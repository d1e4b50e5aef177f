import { generateClientSecret, hashClientSecret } from "./client-secret.js";
import type { Clock } from "./clock.js";
import { AdminError } from "./errors.js";
import { randomId } from "./ids.js";
import { escapedPreview, firstInvisibleCharacter } from "./invisible-characters.js";
import { checkKeyUrl } from "./key-url.js";
import { onePage, pagePosition, pageSize } from "./paging.js";
import type { AuditEvent, ClientAuthKind, ClientPatch, ClientRecord, SecretRecord, Storage } from "./ports/storage.js";
import { ClientCredentialConflictError, ClientExistsError } from "./ports/storage.js";
import { preview } from "./preview.js";
import { isScopeToken, MAX_SCOPES } from "./scope.js";
import { cutoffAfter, tokenCutoff } from "./token-cutoffs.js";

/** Token lifetime when the admin sets none: one hour, the usual expires_in. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Longest token lifetime an admin may set. */
export const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
/** Longest grace period for the old secret during a rotation. */
export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600;
const MAX_AUDIENCES = 100;
const MAX_AUDIENCE_LENGTH = 2000;
const MAX_NAME_LENGTH = 200;
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** Fields an admin sets when creating a client. */
export interface NewClientInput {
  clientId: string;
  name: string;
  scopes: string[];
  audiences: string[];
  /** Undefined means the default. */
  tokenTtlSeconds: number | undefined;
  /** How the client authenticates; undefined means client_secret. Only client_secret clients get a secret. */
  authMethod?: ClientAuthKind | undefined;
}

/** The ways a client may be registered to authenticate. */
const CLIENT_AUTH_KINDS: readonly ClientAuthKind[] = ["client_secret", "private_key_jwt", "federated"];

/** Settings of client administration that come from the server's configuration. */
export interface ClientAdminOptions {
  /** Whether jwks_uri and federated issuers may be plain http to loopback (development only). */
  allowHttpLoopback?: boolean | undefined;
}

/** Who makes an administrative change and from where, for the audit trail. */
export interface Actor {
  actor: string;
  origin: string;
}

/** A client with the secret that was just generated for it (shown once); "" for a client without secrets. */
export interface ClientWithSecret {
  client: ClientRecord;
  clientSecret: string;
}

/** Client administration: validation and rules, independent of any transport. */
export class ClientAdminCore {
  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly options: ClientAdminOptions = {},
  ) {}

  /**
   * Registers a client: with a fresh secret, or (private_key_jwt, federated) with none: its keys
   * or federated credentials are added next.
   */
  async create(input: NewClientInput, who?: Actor): Promise<ClientWithSecret> {
    const clientId = input.clientId === "" ? randomId("tcl_", 12) : checkClientId(input.clientId, "client_id");
    const authMethod = checkAuthMethod(input.authMethod ?? "client_secret", "auth_method");
    const now = this.clock();
    const clientSecret = authMethod === "client_secret" ? generateClientSecret() : "";
    const client: ClientRecord = {
      clientId,
      name: checkName(input.name),
      scopes: checkScopes(input.scopes),
      audiences: checkAudiences(input.audiences),
      tokenTtlSeconds: input.tokenTtlSeconds === undefined ? DEFAULT_TOKEN_TTL_SECONDS : checkTtl(input.tokenTtlSeconds),
      disabled: false,
      createTime: now,
      updateTime: now,
      tokensNotBefore: null,
      scopeCutoffs: [],
      secrets: authMethod === "client_secret" ? [newSecret(clientSecret, now)] : [],
      authMethod,
      keys: [],
      jwksUri: null,
      federatedCredentials: [],
    };
    let stored: ClientRecord;
    try {
      // A client deleted with this id left a cut-off: the new one starts after it (ports/storage.ts).
      stored = await this.storage.createClient(
        client,
        this.#event(who, "client.create", clientId, now, {
          name: client.name,
          scopes: client.scopes,
          audiences: client.audiences,
          token_ttl_seconds: client.tokenTtlSeconds,
          auth_method: authMethod,
        }),
      );
    } catch (err) {
      if (err instanceof ClientExistsError)
        throw new AdminError("already_exists", `client_id ${preview(client.clientId)} is already taken`);
      throw err;
    }
    return { client: stored, clientSecret };
  }

  /** Reads one client. */
  async get(clientId: string): Promise<ClientRecord> {
    checkClientId(clientId, "client_id");
    return this.#found(clientId, await this.storage.getClient(clientId));
  }

  /** One page of clients ordered by id; the page token is opaque to callers. */
  async list(requestedSize: number, pageToken: string): Promise<{ clients: ClientRecord[]; nextPageToken: string }> {
    const size = pageSize(requestedSize);
    const after = pagePosition(pageToken, "ListClients", (id) => CLIENT_ID.test(id)) ?? "";
    const page = onePage(await this.storage.listClients(after, size + 1), size, (c) => c.clientId);
    return { clients: page.items, nextPageToken: page.nextPageToken };
  }

  /** Changes the given fields; an empty patch is refused so mistakes are loud. */
  async update(clientId: string, patch: ClientPatch, who?: Actor): Promise<ClientRecord> {
    checkClientId(clientId, "client.client_id");
    const clean: ClientPatch = {};
    if (patch.name !== undefined) clean.name = checkName(patch.name, "client.name");
    if (patch.scopes !== undefined) clean.scopes = checkScopes(patch.scopes, "client.scopes");
    if (patch.audiences !== undefined) clean.audiences = checkAudiences(patch.audiences, "client.audiences");
    if (patch.tokenTtlSeconds !== undefined) clean.tokenTtlSeconds = checkTtl(patch.tokenTtlSeconds, "client.token_ttl");
    if (patch.disabled !== undefined) clean.disabled = patch.disabled;
    if (patch.authMethod !== undefined) clean.authMethod = checkAuthMethod(patch.authMethod, "client.auth_method");
    if (patch.jwksUri !== undefined) {
      clean.jwksUri =
        patch.jwksUri === null || patch.jwksUri === ""
          ? null
          : checkKeyUrl(patch.jwksUri, "client.jwks_uri", this.options.allowHttpLoopback === true);
    }
    if (Object.keys(clean).length === 0) throw new AdminError("invalid_argument", "update_mask names no field to change");
    const now = this.clock();
    // Needed, and defined, exactly when the change disables the client or sets its scopes.
    const cutoff =
      clean.disabled === true || clean.scopes !== undefined
        ? cutoffAfter(this.#found(clientId, await this.storage.getClient(clientId)), now)
        : undefined;
    // Disabling also cuts off the tokens already issued, so they stop being active at once.
    if (clean.disabled === true && cutoff !== undefined) clean.tokensNotBefore = cutoff;
    const changes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(clean)) changes[snake(k)] = k === "tokensNotBefore" ? new Date(v as number).toISOString() : v;
    // Leaving client_secret deletes the client's secrets (storage does it in the same transaction).
    if (clean.authMethod !== undefined && clean.authMethod !== "client_secret") changes.secrets_deleted = true;
    // A scope taken away cuts off the tokens carrying it for good: giving it back later does
    // not revive them. Cut-offs older than the longest token lifetime refuse nothing any more.
    if (clean.scopes !== undefined && cutoff !== undefined)
      clean.scopeRemoval = { notBefore: cutoff, forgetBefore: now - MAX_TOKEN_TTL_SECONDS * 1000 };
    try {
      return this.#found(
        clientId,
        await this.storage.updateClient(clientId, clean, now, this.#event(who, "client.update", clientId, now, changes)),
      );
    } catch (err) {
      if (err instanceof ClientCredentialConflictError) throw new AdminError("failed_precondition", err.message);
      throw err;
    }
  }

  /** Makes every token issued to the client until now inactive (a per-client not-before time). */
  async revokeTokens(clientId: string, who?: Actor): Promise<ClientRecord> {
    checkClientId(clientId, "client_id");
    const now = this.clock();
    const cutoff = cutoffAfter(this.#found(clientId, await this.storage.getClient(clientId)), now);
    const event = this.#event(who, "client.revoke_tokens", clientId, now, { tokens_not_before: new Date(cutoff).toISOString() });
    return this.#found(clientId, await this.storage.updateClient(clientId, { tokensNotBefore: cutoff }, now, event));
  }

  /**
   * Deletes a client and its secrets. Its id keeps a cut-off until its last token expires, so
   * a client created again with the same id, even within the same second, does not inherit
   * the deleted one's tokens.
   */
  async delete(clientId: string, who?: Actor): Promise<void> {
    checkClientId(clientId, "client_id");
    const now = this.clock();
    const current = this.#found(clientId, await this.storage.getClient(clientId));
    const event = this.#event(who, "client.delete", clientId, now, {});
    const tombstone = { tokensNotBefore: cutoffAfter(current, now), expireTime: now + MAX_TOKEN_TTL_SECONDS * 1000 };
    if (!(await this.storage.deleteClient(clientId, event, tombstone))) this.#found(clientId, undefined);
  }

  /** Issues a new secret; older secrets keep working for `graceSeconds`, then stop exactly. */
  async rotateSecret(clientId: string, graceSeconds: number, who?: Actor): Promise<ClientWithSecret> {
    checkClientId(clientId, "client_id");
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_PERIOD_SECONDS) {
      throw new AdminError("invalid_argument", `grace_period must be between 0s and ${MAX_GRACE_PERIOD_SECONDS}s`);
    }
    const current = this.#found(clientId, await this.storage.getClient(clientId));
    if (current.authMethod !== "client_secret") {
      throw new AdminError(
        "failed_precondition",
        `client ${clientId} authenticates with ${current.authMethod} and has no secret: set its auth_method to client_secret first to give it one`,
      );
    }
    const now = this.clock();
    const clientSecret = generateClientSecret();
    const secret = newSecret(clientSecret, now);
    const client = await this.storage.rotateSecret(
      clientId,
      secret,
      now + Math.round(graceSeconds * 1000),
      now,
      this.#event(who, "client.rotate_secret", clientId, now, { new_secret_id: secret.secretId, grace_period_seconds: graceSeconds }),
    );
    return { client: this.#found(clientId, client), clientSecret };
  }

  /** One page of the audit trail, newest first; the page token is opaque to callers. */
  async auditTrail(requestedSize: number, pageToken: string, target: string): Promise<{ events: AuditEvent[]; nextPageToken: string }> {
    const size = pageSize(requestedSize);
    const before = pagePosition(pageToken, "ListAuditEvents", (id) => /^[1-9]\d*$/.test(id) && Number.isSafeInteger(Number(id)));
    const rows = await this.storage.listAuditEvents(
      before === undefined ? undefined : Number(before),
      size + 1,
      target === "" ? undefined : target,
    );
    const page = onePage(rows, size, (e) => String(e.eventId));
    return { events: page.items, nextPageToken: page.nextPageToken };
  }

  #event(who: Actor | undefined, action: string, target: string, time: number, changes: Record<string, unknown>): AuditEvent {
    return { time, actor: who?.actor ?? "local", origin: who?.origin ?? "local", action, target, changes };
  }

  #found(clientId: string, c: ClientRecord | undefined): ClientRecord {
    if (!c) throw new AdminError("not_found", `client ${JSON.stringify(clientId)} not found`);
    return c;
  }
}

/** The cut-off for tokens issued until `now` (see token-cutoffs.ts). */
export { tokenCutoff };

function newSecret(secret: string, now: number): SecretRecord {
  return { secretId: randomId("sec_", 9), hash: hashClientSecret(secret), createTime: now, expireTime: null, lastUsedTime: null };
}

function checkClientId(id: string, field: string): string {
  if (!CLIENT_ID.test(id)) {
    throw new AdminError("invalid_argument", `${field} must be 1-128 characters from A-Z a-z 0-9 . _ ~ -`);
  }
  return id;
}

function checkName(name: string, field = "name"): string {
  // Control, format (bidi overrides) and line-separator characters would corrupt logs and
  // terminals or disguise a name.
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || /[\p{C}\p{Zl}\p{Zp}]/u.test(name) || name.trim() !== name) {
    throw new AdminError(
      "invalid_argument",
      `${field} must be 1-${MAX_NAME_LENGTH} characters without control characters or surrounding spaces`,
    );
  }
  return name;
}

function checkScopes(scopes: string[], field = "scopes"): string[] {
  if (scopes.length > MAX_SCOPES) throw new AdminError("invalid_argument", `${field} may hold at most ${MAX_SCOPES} scopes`);
  for (const s of scopes) {
    refuseInvisible(s, field);
    if (!isScopeToken(s)) {
      throw new AdminError(
        "invalid_argument",
        `${field} contains ${preview(s)} which is not an RFC 6749 scope token (printable ASCII without space or " or \\ and at most 200 characters)`,
      );
    }
  }
  return [...new Set(scopes)];
}

function checkAudiences(audiences: string[], field = "audiences"): string[] {
  if (audiences.length > MAX_AUDIENCES) throw new AdminError("invalid_argument", `${field} may hold at most ${MAX_AUDIENCES} audiences`);
  for (const a of audiences) {
    refuseInvisible(a, field);
    if (a.length === 0 || a.length > MAX_AUDIENCE_LENGTH || /[\s\p{Cc}]/u.test(a)) {
      throw new AdminError(
        "invalid_argument",
        `${field} contains ${preview(a)} but each audience must be 1-${MAX_AUDIENCE_LENGTH} characters without spaces or control characters`,
      );
    }
  }
  return [...new Set(audiences)];
}

/** Refuses a value holding a character nobody can see, naming the field and the character. */
function refuseInvisible(value: string, field: string): void {
  const c = firstInvisibleCharacter(value);
  if (c !== undefined) {
    throw new AdminError(
      "invalid_argument",
      `${field} contains ${escapedPreview(value)} with the invisible character ${c}; control, format, zero-width and bidi characters are refused because they make different values look the same`,
    );
  }
}

function checkTtl(seconds: number, field = "token_ttl"): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TOKEN_TTL_SECONDS) {
    throw new AdminError("invalid_argument", `${field} must be whole seconds from 1s to ${MAX_TOKEN_TTL_SECONDS}s`);
  }
  return seconds;
}

function checkAuthMethod(method: string, field: string): ClientAuthKind {
  const kind = CLIENT_AUTH_KINDS.find((k) => k === method);
  if (kind === undefined)
    throw new AdminError("invalid_argument", `${field} must be one of ${CLIENT_AUTH_KINDS.join(", ")}, not ${preview(method)}`);
  return kind;
}

function snake(camel: string): string {
  return camel === "tokenTtlSeconds" ? "token_ttl_seconds" : camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
