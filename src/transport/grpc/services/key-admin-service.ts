import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { KeyAdmin, type SigningKey, SigningKeySchema, SigningKeyState } from "../../../../gen/tessera/v1/key_admin_pb.js";
import { AdminError } from "../../../core/errors.js";
import type { SigningKeyRecord } from "../../../core/ports/storage.js";
import { KekError, wrappedUnder } from "../../../keys/key-encryption.js";
import { RotationTooSoonError } from "../../../keys/key-lifecycle.js";
import type { KeyRing } from "../../../keys/key-ring.js";
import { actorOf } from "../admin-context.js";

const STATES = {
  next: SigningKeyState.NEXT,
  current: SigningKeyState.CURRENT,
  retired: SigningKeyState.RETIRED,
} as const;

/** A key record as the API shows it: lifecycle and times, never key material. */
function toProtoKey(k: SigningKeyRecord, retiredPublishMs: number): SigningKey {
  return create(SigningKeySchema, {
    kid: k.kid,
    alg: k.alg,
    state: STATES[k.status],
    createTime: timestampFromMs(k.createTime),
    activateTime: k.activateTime === null ? undefined : timestampFromMs(k.activateTime),
    retireTime: k.retireTime === null ? undefined : timestampFromMs(k.retireTime),
    removeTime: k.retireTime === null ? undefined : timestampFromMs(k.retireTime + retiredPublishMs),
    encrypted: wrappedUnder(k.privateKey) !== undefined,
  });
}

/** Registers KeyAdmin behind the same interceptors (errors, admin authentication) as ClientAdmin. */
export function registerKeyAdmin(router: ConnectRouter, keys: KeyRing, clock: () => number, interceptors: Interceptor[]): void {
  const list = () => keys.records.map((k) => toProtoKey(k, keys.policy.retiredPublishMs));
  router.service(
    KeyAdmin,
    {
      async listSigningKeys() {
        await keys.reload();
        return { keys: list() };
      },
      async rotateSigningKey(req, ctx) {
        const who = actorOf(ctx);
        try {
          await keys.maintain({ rotate: true, force: req.force }, (kid, withdrawn) => ({
            time: clock(),
            actor: who.actor,
            origin: who.origin,
            action: "keys.rotate",
            target: kid,
            changes: withdrawn.length > 0 ? { force: req.force, withdrawn } : { force: req.force },
          }));
        } catch (err) {
          if (err instanceof RotationTooSoonError) throw new AdminError("failed_precondition", err.message);
          // The keys are encrypted under a KEK this server lacks (re-encrypted by another process).
          if (err instanceof KekError)
            throw new AdminError("failed_precondition", `this server cannot rotate the signing keys: ${err.message}`);
          throw err;
        }
        // The ring reloads after every maintain and refuses to load without a current key.
        const current = keys.records.find((k) => k.status === "current");
        return { current: current && toProtoKey(current, keys.policy.retiredPublishMs), keys: list() };
      },
    },
    { interceptors },
  );
}
