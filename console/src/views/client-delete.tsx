import { useState } from "preact/hooks";
import type { Client } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ErrorText, Field } from "../components/field.js";
import { useAction } from "../components/use-action.js";

/** Deletes the client once its id has been typed in full. */
export function ClientDelete(p: { api: Api; client: Client; onDeleted: () => void }) {
  const c = p.client;
  const [typed, setTyped] = useState("");
  const remove = useAction(async () => {
    await p.api.clients.deleteClient({ clientId: c.clientId });
    p.onDeleted();
  });
  const ready = typed === c.clientId;
  return (
    <section aria-labelledby="delete-title" class="danger-zone">
      <h2 id="delete-title">Delete</h2>
      <p>Deleting removes the client and its secrets for good. It gets no new tokens and the tokens it holds are cut off at once.</p>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (ready) void remove.run();
        }}
      >
        <Field id="delete-confirm" label={`Type ${c.clientId} to confirm`} value={typed} onInput={setTyped} />
        <ErrorText id="delete-error" message={remove.problem?.message} />
        <button type="submit" class="danger" disabled={!ready || remove.busy}>
          Delete client
        </button>
      </form>
    </section>
  );
}
