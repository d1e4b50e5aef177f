/** A handle returned by Scheduler.setTimeout. */
export type TimerHandle = unknown;

/** How a timer relates to the process's lifetime. */
export interface TimerOptions {
  /**
   * True for work nobody awaits (renewing a token ahead of time): such a timer must not keep
   * the process alive on its own. A timer a caller's promise depends on (a backoff sleep, a
   * request timeout) must keep it alive, or Node ends the process under the caller's await.
   */
  background?: boolean | undefined;
}

/**
 * Time as the SDK sees it: a clock and one-shot timers. Injected so tests can move time by
 * hand and assert backoff schedules and refresh points without sleeping.
 */
export interface Scheduler {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; keeps the process alive unless `options.background` is set. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
  /** Cancels a timer from setTimeout; ignores handles that already fired. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock and timers; only background timers are unref'd, so an idle client never holds the process open. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms, options) => {
    const timer = setTimeout(fn, ms);
    if (options?.background === true) timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Resolves after `ms` on `scheduler`, or rejects with the signal's reason when it aborts first. */
export function sleep(scheduler: Scheduler, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      scheduler.clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    // The caller awaits this sleep: a foreground timer.
    const timer = scheduler.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts.
 * `promise` is always handled here, so when it rejects after the caller stopped waiting, the
 * rejection is not reported as unhandled (which ends a Node process).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason as Error);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e as Error);
      },
    );
  });
}
