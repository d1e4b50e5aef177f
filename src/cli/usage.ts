/** Thrown for a wrong command line; main prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The top-level help text. */
export const HELP = `tessera: OAuth 2.0 client credentials server (gRPC, Connect, form POST /oauth/token)

Usage:
  tessera serve [--port 8080] [--host ADDR] [--db ./data/tessera.db] [--issuer URL] [--alg ES256|EdDSA|RS256|PS256]
                [--tls-cert FILE --tls-key FILE] [--workers N] [--key-rotation-period 30d] [--jwks-max-age 15m] ...
      Every setting, its environment variable and default: see the README's configuration table.
  tessera bootstrap [--db PATH] [--force]
      Create the first admin client (scope tessera:admin) in the local database; prints its
      client_id and client_secret once, as JSON.
  tessera clients create --name NAME [--scope "a b"] [--audience URL]... [--ttl SECONDS] [--client-id ID] [--json]
  tessera clients get ID [--json]
  tessera clients list [--page-size N] [--page-token T] [--json]
  tessera clients update ID [--name N] [--scope "a b"] [--audience URL]... [--ttl S] [--disable|--enable] [--json]
  tessera clients delete ID
  tessera clients rotate-secret ID [--grace SECONDS] [--json]
  tessera clients revoke-tokens ID [--json]
  tessera keys list [--json]
  tessera keys rotate [--force] [--json]
      Talk to --server (default http://localhost:8080) over gRPC as the admin client in
      TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET.
  tessera keys rewrap [--db PATH]
      Re-encrypt the signing keys under TESSERA_NEW_KEK(_FILE), reading them with
      TESSERA_KEK(_FILE). Stop the servers first; start them with the new KEK.
  tessera audit [--target ID] [--page-size N] [--page-token T] [--json]
      The audit trail of administrative changes, newest first (over gRPC, as admin).
  tessera backup FILE [--db PATH] [--force]
      A consistent online copy of the database (SQLite backup API), checked after writing.
  tessera token [--scope "a b"] [--audience URL]... [--server URL] [--json]
      Get an access token as CLIENT_ID / CLIENT_SECRET and print it.

Every serve flag can also come from the environment (PORT, TESSERA_DB, TESSERA_ISSUER, ...).
The key-encryption key comes only from the environment: TESSERA_KEK (hex or base64 of
32 bytes) or TESSERA_KEK_FILE.
`;
