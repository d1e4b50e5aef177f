/** What the client secret methods present: the client id and its secret as sent. */
export interface SecretCredentials {
  clientId: string;
  clientSecret: string;
  method: "client_secret_basic" | "client_secret_post";
}
