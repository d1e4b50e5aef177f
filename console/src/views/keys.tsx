import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import { type SigningKey, SigningKeyState } from "../../../gen/tessera/v1/key_admin_pb.js";
import type { Api } from "../api.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ErrorText } from "../components/field.js";
import { useAction } from "../components/use-action.js";
import { formatTime, formatWait, isoTime } from "../format.js";

const STATE_NAMES: Record<SigningKeyState, string> = {
  [SigningKeyState.UNSPECIFIED]: "Unknown",
  [SigningKeyState.NEXT]: "Next",
  [SigningKeyState.CURRENT]: "Current",
  [SigningKeyState.RETIRED]: "Retired",
};

/**
 * Signing keys (next, current, retired), rotation, and the JWKS that verifiers fetch. A forced
 * rotation withdraws the keys that signed the session's own token, so it ends the session
 * through `onKeysWithdrawn`.
 */
export function Keys(p: { api: Api; onKeysWithdrawn: () => void }) {
  const [keys, setKeys] = useState<SigningKey[] | undefined>(undefined);
  const [jwks, setJwks] = useState<string | undefined>(undefined);
  const [done, setDone] = useState("");
  // Seconds until an ordinary rotation is allowed, once the server refused one as too soon.
  const [tooSoon, setTooSoon] = useState<number | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);

  const load = useAction(async () => {
    setKeys((await p.api.keys.listSigningKeys({})).keys);
    const res = await fetch("/.well-known/jwks.json", { credentials: "omit", cache: "no-store" });
    setJwks(res.ok ? JSON.stringify(await res.json(), null, 2) : `GET /.well-known/jwks.json answered HTTP ${res.status}`);
  });
  useEffect(() => void load.run(), []);

  const rotate = useAction(async (force: boolean) => {
    setConfirming(false);
    setDone("");
    setTooSoon(undefined);
    try {
      const r = await p.api.keys.rotateSigningKey({ force });
      if (force) return p.onKeysWithdrawn();
      setKeys(r.keys);
      setDone(`Rotated: key ${r.current!.kid} signs new tokens from now on.`);
      void load.run();
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.FailedPrecondition)
        setTooSoon(Number(/in (\d+)s\b/.exec(err.rawMessage)?.[1] ?? NaN));
      throw err;
    }
  });

  return (
    <main id="main" tabIndex={-1}>
      <h1>Signing keys</h1>
      <p>
        A key is published as <em>next</em> before it signs, so that verifiers have fetched it when it becomes <em>current</em>. A{" "}
        <em>retired</em> key stays published until every token it signed has expired.
      </p>
      <ErrorText id="keys-error" message={load.problem?.message} />
      {keys ? (
        <table class="list">
          <caption class="visually-hidden">Published signing keys, newest first</caption>
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Key id</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Created</th>
              <th scope="col">Signing since</th>
              <th scope="col">Retired</th>
              <th scope="col">Leaves the JWKS</th>
              <th scope="col">Encrypted at rest</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.kid}>
                <td data-label="State">
                  <span
                    class={`badge ${k.state === SigningKeyState.CURRENT ? "on" : k.state === SigningKeyState.RETIRED ? "off" : "next"}`}
                  >
                    {STATE_NAMES[k.state]}
                  </span>
                </td>
                <td data-label="Key id" class="mono kid">
                  {k.kid}
                </td>
                <td data-label="Algorithm">{k.alg}</td>
                <td data-label="Created">
                  <time datetime={isoTime(k.createTime)}>{formatTime(k.createTime)}</time>
                </td>
                <td data-label="Signing since">
                  {k.activateTime ? <time datetime={isoTime(k.activateTime)}>{formatTime(k.activateTime)}</time> : "not yet"}
                </td>
                <td data-label="Retired">
                  {k.retireTime ? <time datetime={isoTime(k.retireTime)}>{formatTime(k.retireTime)}</time> : "—"}
                </td>
                <td data-label="Leaves the JWKS">
                  {k.removeTime ? <time datetime={isoTime(k.removeTime)}>{formatTime(k.removeTime)}</time> : "—"}
                </td>
                <td data-label="Encrypted at rest">{k.encrypted ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : load.busy ? (
        <p role="status">Loading keys…</p>
      ) : null}

      <section aria-labelledby="rotate-title">
        <h2 id="rotate-title">Rotate</h2>
        <p>Rotation makes the next key current and publishes a new next key.</p>
        <div class="action">
          <button type="button" class="primary" disabled={rotate.busy} onClick={() => void rotate.run(false)}>
            Rotate now
          </button>
          <ErrorText id="rotate-key-error" message={rotate.problem?.message} />
          {tooSoon !== undefined ? (
            <p class="explain" id="too-soon">
              The next key was published too recently: verifiers cache the JWKS and may not have fetched it yet, so they would reject the
              tokens it signs until they refetch.{" "}
              {Number.isFinite(tooSoon) ? `An ordinary rotation is possible in ${formatWait(tooSoon)}. ` : ""}
              Wait, or force the rotation if the current key is compromised.
            </p>
          ) : null}
        </div>
        <div class="action">
          <button type="button" class="danger" disabled={rotate.busy} onClick={() => setConfirming(true)}>
            Force rotation…
          </button>
          <p class="hint">For a compromised key: withdraws the current and next keys at once and signs with a new one.</p>
        </div>
        <p class="status" role="status">
          {done}
        </p>
      </section>

      <section aria-labelledby="jwks-title">
        <h2 id="jwks-title">Published JWKS</h2>
        <p>
          What resource servers fetch from <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>: the public parts of the next,
          current and retired keys.
        </p>
        {jwks ? (
          // Focusable so that keyboard users can scroll it; a region named by its heading.
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable (WCAG 2.1.1, axe scrollable-region-focusable)
          // biome-ignore lint/a11y/useSemanticElements: <section> would not keep the preformatted text
          <pre class="jwks" tabIndex={0} role="region" aria-label="JWKS document">
            {jwks}
          </pre>
        ) : null}
      </section>

      {confirming ? (
        <ConfirmDialog
          id="force-dialog"
          title="Force a key rotation?"
          confirmLabel="Force rotation"
          danger
          onConfirm={() => void rotate.run(true)}
          onCancel={() => setConfirming(false)}
        >
          <p>
            The current and next keys are withdrawn and a new key signs from now on. Every token they signed stops working at once here
            (admin calls, introspection), this console session included, and at resource servers when they refetch the JWKS. Use this only
            when a signing key is compromised.
          </p>
        </ConfirmDialog>
      ) : null}
    </main>
  );
}
