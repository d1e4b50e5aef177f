import { parseBasicAuthorization } from "./basic-credentials.js";
import type { ClientAuthenticator } from "./client-authenticator.js";
import type { SecretCredentials } from "./secret-credentials.js";
import { proveWithSecret } from "./secret-proof.js";

declare module "./client-authenticator.js" {
  interface CredentialsByMethod {
    client_secret_basic: SecretCredentials;
  }
}

/** client_secret_basic (RFC 6749 §2.3.1): id and secret in `Authorization: Basic`. */
export const clientSecretBasic: ClientAuthenticator = {
  name: "client_secret_basic",
  params: [],
  scheme: "Basic",
  noun: "the Basic credentials",
  read(authorization) {
    const basic = authorization === undefined ? undefined : parseBasicAuthorization(authorization);
    return basic && { clientId: basic.clientId, clientSecret: basic.clientSecret, method: "client_secret_basic" };
  },
  verify(client, credentials, ctx) {
    return "clientSecret" in credentials && proveWithSecret(client, credentials.clientSecret, ctx.now, ctx.secretUse);
  },
};
