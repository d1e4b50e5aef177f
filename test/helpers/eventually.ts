/** How long to wait for a condition, and how often to look. */
export interface WaitOptions {
  /** Give up after this long; default 10 s (a loaded machine is slow, a broken server never gets there). */
  timeoutMs?: number;
  /** Look again after this long; default 25 ms. */
  intervalMs?: number;
}

type Met<T> = Exclude<T, false | null | undefined | 0 | "">;

/**
 * Looks at `check` until it returns something truthy and returns that. A check that throws
 * counts as not yet met. After `timeoutMs` it fails with a message naming `what` was awaited
 * and what the last look saw, so a timeout reads as the condition that never came.
 */
export async function eventually<T>(what: string, check: () => T | Promise<T>, opts: WaitOptions = {}): Promise<Met<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 25;
  const end = performance.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Met<T>;
      last = `the last look returned ${JSON.stringify(value)}`;
    } catch (err) {
      last = `the last look threw: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (performance.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${last}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits for `promise` (an event: an exit, a socket closing, a stream ending) for at most
 * `timeoutMs`; fails with a message naming `what` was awaited when it does not come.
 */
export function within<T>(what: string, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
