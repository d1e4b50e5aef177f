import type { ClientCredentials } from "../../src/client/credentials.js";
import { TokenError } from "../../src/client/errors.js";
import type { GrantRequest, IssuedToken, TokenEndpoint } from "../../src/client/token-endpoint.js";

/** What the fake does for one request: answer, fail, or hang until the test resolves it. */
export type Step = IssuedToken | TokenError | "hang";

/** A scripted TokenEndpoint that counts and records requests. */
export class FakeEndpoint implements TokenEndpoint {
  readonly transport = "fake";
  readonly target = "fake://tessera";
  readonly requests: Array<{ clientId: string; request: GrantRequest }> = [];
  #script: Step[];
  #serial = 0;
  /** Resolvers of requests that hang, in order. */
  readonly hanging: Array<(step: IssuedToken | TokenError) => void> = [];

  /** `script` is consumed one step per request; when empty, fresh 3600 s tokens are issued. */
  constructor(script: Step[] = []) {
    this.#script = [...script];
  }

  get count(): number {
    return this.requests.length;
  }

  async issue(credentials: ClientCredentials, request: GrantRequest, signal: AbortSignal): Promise<IssuedToken> {
    this.requests.push({ clientId: credentials.clientId, request });
    const step = this.#script.shift() ?? token(3600, `tok-${++this.#serial}`);
    const outcome =
      step === "hang"
        ? await new Promise<IssuedToken | TokenError>((resolve, reject) => {
            this.hanging.push(resolve);
            signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
          })
        : step;
    if (outcome instanceof TokenError) throw outcome;
    return outcome;
  }
}

/** An issued token of `expiresIn` seconds. */
export function token(
  expiresIn: number,
  accessToken = `tok-${expiresIn}-${Math.random().toString(36).slice(2)}`,
  scope?: string,
): IssuedToken {
  return { accessToken, expiresIn, scope };
}
