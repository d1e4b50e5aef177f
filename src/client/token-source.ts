/** Which token a caller wants; the client's defaults fill what is left out. */
export interface TokenOptions {
  /** Space-separated scopes. */
  scope?: string | undefined;
  /** The resource server(s) the token is for. */
  audience?: string | string[] | undefined;
  /** Stops waiting for this caller only; a request shared with other callers carries on. */
  signal?: AbortSignal | undefined;
}

/** Anything that hands out access tokens and can be told one was refused (TokenClient does). */
export interface TokenSource {
  /** A valid access token, from the cache when possible. */
  getToken(options?: TokenOptions): Promise<string>;
  /** Forgets `token` (or every cached token), so the next getToken asks the token service. */
  invalidate(token?: string): void;
}
