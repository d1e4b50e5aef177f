import type { Storage } from "../core/ports/storage.js";
import type { HealthState } from "../transport/grpc/health.js";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";

/** Health names that need database writes; token issuance ("" and TokenService) does not. */
export const WRITE_SERVICES = ["tessera.v1.ClientAdmin", "tessera.v1.KeyAdmin"];

/**
 * Tracks whether the database accepts writes. After a write fails for want of space (or a
 * lock), the admin services report NOT_SERVING and a small probe write is retried until it
 * succeeds; then they report SERVING again. Token issuance is unaffected throughout.
 */
export class WriteHealth {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly health: HealthState,
    private readonly onChange: (writable: boolean) => void,
    private readonly probeMs = 2000,
  ) {}

  /** Called when a write failed because the store is unavailable. */
  failed(): void {
    if (this.#timer) return;
    for (const s of WRITE_SERVICES) this.health.set(s, Serving.NOT_SERVING);
    this.onChange(false);
    this.#timer = setInterval(() => void this.#probe(), this.probeMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    try {
      await this.storage.setMeta("write_probe", new Date().toISOString(), true);
    } catch {
      return;
    }
    this.stop();
    for (const s of WRITE_SERVICES) this.health.set(s, Serving.SERVING);
    this.onChange(true);
  }

  /** Stops probing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
