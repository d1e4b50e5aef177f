import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";

/** The serving status of each service name ("" is the whole server), with a way to watch changes. */
export class HealthState {
  readonly #statuses: Map<string, ServingStatus>;
  // Each watcher re-reads its own service when woken, so a bare "something
  // changed" callback is enough and a slow reader never misses the latest status.
  readonly #wakers = new Set<() => void>();

  /** Starts with the given statuses; by default the whole server ("") is SERVING, as in grpc-go. */
  constructor(initial: Iterable<readonly [string, ServingStatus]> = [["", ServingStatus.SERVING]]) {
    this.#statuses = new Map(initial);
  }

  /** Records a service's status and wakes its watchers if it changed. */
  set(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    for (const wake of this.#wakers) wake();
  }

  /** Records SERVING or NOT_SERVING for each of `services`. */
  setServing(services: Iterable<string>, serving: boolean): void {
    for (const service of services) this.set(service, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }

  /** The service's status, or undefined for a service never set. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** How many watches are open; lets tests prove that ended watches leave nothing behind. */
  get watcherCount(): number {
    return this.#wakers.size;
  }

  /**
   * Yields the service's status at once (SERVICE_UNKNOWN if never set), then
   * each new one, until `signal` aborts. Quick successive changes may be
   * coalesced into the latest, which is all the health protocol promises.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus, void, undefined> {
    let wake: (() => void) | undefined;
    const waker = () => wake?.();
    this.#wakers.add(waker);
    signal.addEventListener("abort", waker);
    try {
      let last: ServingStatus | undefined;
      while (!signal.aborted) {
        const current = this.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (current !== last) {
          last = current;
          yield current;
          continue; // it may have changed again while the reader was busy
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      // Runs on abort, on the reader's return(), and on errors alike.
      this.#wakers.delete(waker);
      signal.removeEventListener("abort", waker);
    }
  }
}
