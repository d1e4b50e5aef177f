import { useState } from "preact/hooks";
import type { Client } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ErrorText } from "../components/field.js";
import { useAction } from "../components/use-action.js";
import { formatTime, isoTime } from "../format.js";

/** Enable or disable a client, and cut off every token it holds (RevokeClientTokens). */
export function ClientAccess(p: { api: Api; client: Client; onChanged: (c: Client) => void }) {
  const c = p.client;
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState("");
  const toggle = useAction(async () => {
    setDone("");
    const r = await p.api.clients.updateClient({
      client: { clientId: c.clientId, disabled: !c.disabled },
      updateMask: { paths: ["disabled"] },
    });
    p.onChanged(r.client!);
    setDone(
      r.client!.disabled ? "Disabled: it gets no new tokens, and the tokens it held are cut off." : "Enabled: it can get tokens again.",
    );
  });
  const cutOff = useAction(async () => {
    setConfirming(false);
    setDone("");
    const r = await p.api.clients.revokeClientTokens({ clientId: c.clientId });
    p.onChanged(r.client!);
    setDone(`Cut off: tokens issued before ${formatTime(r.client!.tokensNotBefore)} are refused.`);
  });

  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access</h2>
      <p>
        This client is <strong>{c.disabled ? "disabled" : "enabled"}</strong>.{" "}
        {c.tokensNotBefore ? (
          <>
            Tokens issued before <time datetime={isoTime(c.tokensNotBefore)}>{formatTime(c.tokensNotBefore)}</time> are cut off.
          </>
        ) : (
          "Its tokens have never been cut off."
        )}
      </p>
      <div class="action">
        <button
          type="button"
          class={c.disabled ? "" : "danger"}
          disabled={toggle.busy}
          onClick={() => void toggle.run()}
          aria-describedby="toggle-hint"
        >
          {c.disabled ? "Enable client" : "Disable client"}
        </button>
        <p id="toggle-hint" class="hint">
          {c.disabled
            ? "Lets it get tokens again."
            : "It gets no new tokens, and every token it holds stops working at introspection and the admin API."}
        </p>
        <ErrorText id="toggle-error" message={toggle.problem?.message} />
      </div>
      <div class="action">
        <button type="button" class="danger" disabled={cutOff.busy} onClick={() => setConfirming(true)} aria-describedby="cutoff-hint">
          Cut off all tokens
        </button>
        <p id="cutoff-hint" class="hint">
          Every token issued to it until now becomes inactive; it can get new ones.
        </p>
        <ErrorText id="cutoff-error" message={cutOff.problem?.message} />
      </div>
      <p class="status" role="status">
        {done}
      </p>
      {confirming ? (
        <ConfirmDialog
          id="cutoff-dialog"
          title={`Cut off the tokens of ${c.name}?`}
          confirmLabel="Cut off tokens"
          danger
          onConfirm={() => void cutOff.run()}
          onCancel={() => setConfirming(false)}
        >
          <p>
            Introspection will answer inactive for every token issued to <code>{c.clientId}</code> until now, and the admin API will refuse
            them. Resource servers that verify tokens offline keep accepting them until they expire.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
