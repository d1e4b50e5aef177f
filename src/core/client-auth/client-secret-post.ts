import type { ClientAuthenticator } from "./client-authenticator.js";
import type { SecretCredentials } from "./secret-credentials.js";
import { proveWithSecret } from "./secret-proof.js";

declare module "./client-authenticator.js" {
  interface CredentialsByMethod {
    client_secret_post: SecretCredentials;
  }
}

/** client_secret_post (RFC 6749 §2.3.1): the client_id and client_secret parameters. */
export const clientSecretPost: ClientAuthenticator = {
  name: "client_secret_post",
  params: ["client_id", "client_secret"],
  scheme: undefined,
  noun: "the client_secret parameter",
  read(_authorization, source, param) {
    const clientSecret = param(source, "client_secret");
    if (clientSecret === undefined) return undefined;
    return { clientId: param(source, "client_id") ?? "", clientSecret, method: "client_secret_post" };
  },
  verify(client, credentials, ctx) {
    return "clientSecret" in credentials && proveWithSecret(client, credentials.clientSecret, ctx.now, ctx.secretUse);
  },
};
