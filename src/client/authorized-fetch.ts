import type { TokenOptions, TokenSource } from "./token-source.js";

/**
 * Whether fetch can send `body` twice: strings, bytes, URLSearchParams, FormData and Blob are
 * read afresh for each request. Anything else (a web ReadableStream, a Node Readable, an
 * async iterable) is consumed by the first send: sent again it fails ("body object should not
 * be disturbed") or, worse, goes out empty.
 */
function isReplayable(body: RequestInit["body"] | undefined): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === "string" ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    body instanceof FormData ||
    body instanceof Blob
  );
}

/**
 * fetch with `Authorization: Bearer`. On a 401 from the resource server the token is
 * invalidated and the request retried exactly once with a fresh one; every other answer,
 * 403 and 5xx included, is returned as is, because a new token cannot fix it (retrying any
 * failure blindly only repeats it). Only a body that can be sent twice is
 * retried: a string, Buffer / ArrayBuffer / TypedArray, URLSearchParams, FormData or Blob (or
 * a Request, which is cloned). With any other body (a stream, a Node Readable, an async
 * generator) the 401 is returned to the caller, who still has the data to send again.
 */
export async function authorizedFetch(
  tokens: TokenSource,
  input: string | URL | Request,
  init: RequestInit = {},
  options: TokenOptions & { fetch?: typeof fetch } = {},
): Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  // A Request is cloned for each send; a body passed in init must be readable twice.
  const replayable = isReplayable(init.body);
  const signal = init.signal ?? options.signal;
  const send = async (token: string) => {
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init.headers).forEach((v, k) => {
      headers.set(k, v);
    });
    headers.set("authorization", `Bearer ${token}`);
    const req = input instanceof Request ? input.clone() : input;
    return doFetch(req, signal ? { ...init, headers, signal } : { ...init, headers });
  };
  const wanted: TokenOptions = { scope: options.scope, audience: options.audience, signal: signal ?? undefined };
  const token = await tokens.getToken(wanted);
  const first = await send(token);
  if (first.status !== 401) return first;
  // Only this token is dropped: a newer one another request already fetched stays cached.
  tokens.invalidate(token);
  // The caller's own retry of a one-shot body then gets a fresh token.
  if (!replayable) return first;
  await first.body?.cancel();
  return send(await tokens.getToken(wanted));
}
