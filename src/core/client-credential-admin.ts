import type { Actor } from "./client-admin.js";
import type { Clock } from "./clock.js";
import { AdminError } from "./errors.js";
import { checkFederatedCredential, type FederatedCredentialInput } from "./federated-rules.js";
import { type AuditEvent, ClientCredentialConflictError, type ClientPatch, type ClientRecord, type Storage } from "./ports/storage.js";
import { preview } from "./preview.js";
import { checkPublicJwk } from "./public-jwk.js";

const MAX_KEYS = 20;
const MAX_FEDERATED_CREDENTIALS = 50;
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/**
 * The credentials of clients that authenticate without a secret: their public keys
 * (private_key_jwt) and their federated credentials (trust rules for platform tokens). Every
 * change is audited. Keys and rules may be added to a client registered for another method
 * too (to prepare a switch); they are used only while its auth_method matches.
 */
export class ClientCredentialAdmin {
  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    /** Our issuer identifier: the default audience of a federated credential. */
    private readonly issuer: string,
    /** Whether federated issuers and jwks_uri may be plain http to loopback (development only). */
    private readonly allowHttpLoopback = false,
  ) {}

  /** Registers a public key (a JWK: public members only; its kid defaults to its RFC 7638 thumbprint). */
  async addKey(clientId: string, jwk: unknown, who?: Actor): Promise<ClientRecord> {
    const current = await this.#client(clientId);
    if (current.jwksUri !== null) {
      throw new AdminError(
        "failed_precondition",
        `client ${clientId} publishes its keys at its jwks_uri; clear the jwks_uri to register keys instead`,
      );
    }
    if (current.keys.length >= MAX_KEYS)
      throw new AdminError("failed_precondition", `client ${clientId} has ${MAX_KEYS} keys, the most it may have: remove one first`);
    const checked = await checkPublicJwk(jwk, "jwk");
    const now = this.clock();
    const event = this.#event(who, "client.add_key", clientId, now, { kid: checked.kid, kty: checked.kty, alg: checked.alg ?? null });
    return this.#update(clientId, { addKey: { kid: checked.kid, jwk: checked, createTime: now } }, now, event);
  }

  /** Removes a key: assertions signed with it are refused from now on. */
  async removeKey(clientId: string, kid: string, who?: Actor): Promise<ClientRecord> {
    const current = await this.#client(clientId);
    if (!current.keys.some((k) => k.kid === kid))
      throw new AdminError("not_found", `client ${clientId} has no key with kid ${preview(kid)}`);
    const now = this.clock();
    return this.#update(clientId, { removeKid: kid }, now, this.#event(who, "client.remove_key", clientId, now, { kid }));
  }

  /** Adds a federated credential (checked, defaults filled in; see federated-rules.ts). */
  async addFederatedCredential(
    clientId: string,
    input: FederatedCredentialInput,
    who?: Actor,
  ): Promise<{ client: ClientRecord; credentialId: string }> {
    const current = await this.#client(clientId);
    if (current.federatedCredentials.length >= MAX_FEDERATED_CREDENTIALS) {
      throw new AdminError(
        "failed_precondition",
        `client ${clientId} has ${MAX_FEDERATED_CREDENTIALS} federated credentials, the most it may have: remove one first`,
      );
    }
    const now = this.clock();
    const rule = await checkFederatedCredential(input, this.issuer, this.allowHttpLoopback, now);
    const event = this.#event(who, "client.add_federated_credential", clientId, now, {
      credential_id: rule.credentialId,
      issuer: rule.issuer,
      subject: rule.subject,
      key_source: rule.keySource.kind === "jwks_uri" ? rule.keySource.uri : rule.keySource.kind,
      audience: rule.audience,
      conditions: rule.conditions.map((c) => ({ claim: c.claim, values: c.values })),
      max_token_age_seconds: rule.maxAgeSeconds,
      require_jti: rule.requireJti,
    });
    const client = await this.#update(clientId, { addFederatedCredential: rule }, now, event);
    return { client, credentialId: rule.credentialId };
  }

  /** Removes a federated credential: its platform tokens are refused from now on. */
  async removeFederatedCredential(clientId: string, credentialId: string, who?: Actor): Promise<ClientRecord> {
    const current = await this.#client(clientId);
    const rule = current.federatedCredentials.find((f) => f.credentialId === credentialId);
    if (rule === undefined) throw new AdminError("not_found", `client ${clientId} has no federated credential ${preview(credentialId)}`);
    const now = this.clock();
    const event = this.#event(who, "client.remove_federated_credential", clientId, now, {
      credential_id: credentialId,
      issuer: rule.issuer,
      subject: rule.subject,
    });
    return this.#update(clientId, { removeFederatedCredentialId: credentialId }, now, event);
  }

  async #client(clientId: string): Promise<ClientRecord> {
    if (!CLIENT_ID.test(clientId)) throw new AdminError("invalid_argument", "client_id must be 1-128 characters from A-Z a-z 0-9 . _ ~ -");
    const c = await this.storage.getClient(clientId);
    if (!c) throw new AdminError("not_found", `client ${JSON.stringify(clientId)} not found`);
    return c;
  }

  async #update(clientId: string, patch: ClientPatch, now: number, event: AuditEvent): Promise<ClientRecord> {
    let c: ClientRecord | undefined;
    try {
      c = await this.storage.updateClient(clientId, patch, now, event);
    } catch (err) {
      // Checked in the transaction (a kid or issuer and subject taken, keys with a jwks_uri).
      if (err instanceof ClientCredentialConflictError) throw new AdminError("already_exists", err.message);
      throw err;
    }
    if (!c) throw new AdminError("not_found", `client ${JSON.stringify(clientId)} not found`);
    return c;
  }

  #event(who: Actor | undefined, action: string, target: string, time: number, changes: Record<string, unknown>): AuditEvent {
    return { time, actor: who?.actor ?? "local", origin: who?.origin ?? "local", action, target, changes };
  }
}
