import type { ServiceImpl } from "@connectrpc/connect";
import type { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { ClientAdminCore } from "../../core/client-admin.js";
import type { AssertionDeps } from "../../core/client-auth/assertion-deps.js";
import type { ClientCredentialAdmin } from "../../core/client-credential-admin.js";
import type { Clock } from "../../core/clock.js";
import { evaluateAssertion } from "../../core/evaluate-assertion.js";
import type { Storage } from "../../core/ports/storage.js";
import { actorOf } from "./admin-context.js";
import { fromProtoFederated, toProtoClient, toProtoFederated, toProtoKey } from "./client-messages.js";

/** What the ClientAdmin calls on keys, federated credentials and assertions need. */
export interface ClientCredentialHandlersDeps {
  clientAdmin: ClientAdminCore;
  clientCredentials: ClientCredentialAdmin;
  storage: Storage;
  clock: Clock;
  assertions: AssertionDeps;
}

/** The ClientAdmin methods for clients that authenticate without a secret. */
export function clientCredentialHandlers(deps: ClientCredentialHandlersDeps): Partial<ServiceImpl<typeof ClientAdmin>> {
  const { clientCredentials: core } = deps;
  const out = (c: Parameters<typeof toProtoClient>[0]) => toProtoClient(c, deps.clock());
  return {
    async listClientKeys(req) {
      return { keys: (await deps.clientAdmin.get(req.clientId)).keys.map(toProtoKey) };
    },
    async addClientKey(req, ctx) {
      const client = await core.addKey(req.clientId, req.jwk, actorOf(ctx));
      const added = client.keys[client.keys.length - 1];
      return { key: added && toProtoKey(added), client: out(client) };
    },
    async removeClientKey(req, ctx) {
      return { client: out(await core.removeKey(req.clientId, req.kid, actorOf(ctx))) };
    },
    async listFederatedCredentials(req) {
      return { federatedCredentials: (await deps.clientAdmin.get(req.clientId)).federatedCredentials.map(toProtoFederated) };
    },
    async addFederatedCredential(req, ctx) {
      const { client, credentialId } = await core.addFederatedCredential(
        req.clientId,
        fromProtoFederated(req.federatedCredential),
        actorOf(ctx),
      );
      const added = client.federatedCredentials.find((f) => f.credentialId === credentialId);
      return { federatedCredential: added && toProtoFederated(added), client: out(client) };
    },
    async removeFederatedCredential(req, ctx) {
      return { client: out(await core.removeFederatedCredential(req.clientId, req.credentialId, actorOf(ctx))) };
    },
    async testClientAssertion(req) {
      await deps.clientAdmin.get(req.clientId); // a malformed id is INVALID_ARGUMENT, an unknown one NOT_FOUND
      return evaluateAssertion(deps, req.clientId, req.clientAssertion);
    },
  };
}
