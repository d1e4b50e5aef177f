import type { TokenOptions, TokenSource } from "./token-source.js";

/**
 * fetch with `Authorization: Bearer`. On a 401 from the resource server the token is
 * invalidated and the request retried exactly once with a fresh one; every other answer,
 * 403 and 5xx included, is returned as is, because a new token cannot fix it (retrying any
 * failure blindly only repeats it). A body that can only be read once (a stream) is not
 * retried.
 */
export async function authorizedFetch(
  tokens: TokenSource,
  input: string | URL | Request,
  init: RequestInit = {},
  options: TokenOptions & { fetch?: typeof fetch } = {},
): Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  // A Request is cloned for each send; a stream passed in init could only be read once.
  const replayable = !(init.body instanceof ReadableStream);
  const signal = init.signal ?? options.signal;
  const send = async (token: string) => {
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init.headers).forEach((v, k) => headers.set(k, v));
    headers.set("authorization", `Bearer ${token}`);
    const req = input instanceof Request ? input.clone() : input;
    return doFetch(req, signal ? { ...init, headers, signal } : { ...init, headers });
  };
  const wanted: TokenOptions = { scope: options.scope, audience: options.audience, signal: signal ?? undefined };
  const token = await tokens.getToken(wanted);
  const first = await send(token);
  if (first.status !== 401 || !replayable) return first;
  await first.body?.cancel();
  // Only this token is dropped: a newer one another request already fetched stays cached.
  tokens.invalidate(token);
  return send(await tokens.getToken(wanted));
}
