import { useState } from "preact/hooks";
import type { Client } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ErrorText, Field } from "../components/field.js";
import { SecretOnce } from "../components/secret-once.js";
import { useAction } from "../components/use-action.js";
import { DURATION_HINT, parseDuration } from "../durations.js";
import { ProblemError, problemFor } from "../errors.js";
import { formatTime, isoTime } from "../format.js";

/** The client's secrets (metadata only) and rotation with a grace period for the old ones. */
export function ClientSecrets(p: { api: Api; client: Client; onChanged: (c: Client) => void }) {
  const c = p.client;
  const [grace, setGrace] = useState("1h");
  const [fresh, setFresh] = useState<string | undefined>(undefined);
  const rotate = useAction(async () => {
    const seconds = parseDuration(grace);
    if (seconds === undefined) throw new ProblemError(DURATION_HINT, "grace_period");
    const r = await p.api.clients.rotateClientSecret({ clientId: c.clientId, gracePeriod: { seconds: BigInt(seconds), nanos: 0 } });
    p.onChanged(r.client!);
    setFresh(r.clientSecret);
  });
  const general = rotate.problem && rotate.problem.field !== "grace_period" ? rotate.problem.message : undefined;

  return (
    <section aria-labelledby="secrets-title">
      <h2 id="secrets-title">Secrets</h2>
      {fresh ? <SecretOnce clientId={c.clientId} secret={fresh} onDone={() => setFresh(undefined)} /> : null}
      <table class="list">
        <caption class="visually-hidden">Secrets of {c.clientId} that still work, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Secret id</th>
            <th scope="col">Created</th>
            <th scope="col">Stops working</th>
            <th scope="col">Last used</th>
          </tr>
        </thead>
        <tbody>
          {c.secrets.map((s) => (
            <tr key={s.secretId}>
              <td data-label="Secret id" class="mono">
                {s.secretId}
              </td>
              <td data-label="Created">
                <time datetime={isoTime(s.createTime)}>{formatTime(s.createTime)}</time>
              </td>
              <td data-label="Stops working">
                {s.expireTime ? <time datetime={isoTime(s.expireTime)}>{formatTime(s.expireTime)}</time> : "does not expire"}
              </td>
              <td data-label="Last used">
                <time datetime={isoTime(s.lastUsedTime)}>{formatTime(s.lastUsedTime)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {c.secrets.length === 0 ? (
        <p>No secret works: rotate to create one.</p>
      ) : (
        <p class="hint">Last use is recorded to the minute, and shows up to a minute late.</p>
      )}
      <form
        class="form inline"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void rotate.run();
        }}
      >
        <Field
          id="grace-period"
          label="Grace period for the current secrets"
          value={grace}
          onInput={setGrace}
          error={problemFor(rotate.problem, "grace_period")}
          hint="How long the secrets in use keep working after the rotation: 0s cuts them off now, at most 30d."
        />
        <ErrorText id="rotate-error" message={general} />
        <button type="submit" disabled={rotate.busy}>
          {rotate.busy ? "Rotating…" : "Rotate secret"}
        </button>
      </form>
    </section>
  );
}
