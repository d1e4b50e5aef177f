import { useRef, useState } from "preact/hooks";

/**
 * A client secret shown the one time the server returns it, with a copy button and the
 * warning that it cannot be shown again (Tessera keeps only a hash).
 */
export function SecretOnce(p: { clientId: string; secret: string; onDone: () => void }) {
  const input = useRef<HTMLTextAreaElement>(null);
  const [copied, setCopied] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(p.secret);
      setCopied("Copied to the clipboard.");
    } catch {
      // The clipboard API exists only on https:// and localhost pages: select the text instead.
      input.current?.select();
      setCopied("This page cannot use the clipboard: the secret is selected, press Ctrl+C (or ⌘C) to copy it.");
    }
  };
  return (
    <section class="secret-once" aria-labelledby="secret-once-title">
      <h2 id="secret-once-title">New client secret</h2>
      <p class="warning">
        <strong>Copy this secret now.</strong> It will not be shown again: Tessera stores only a hash of it.
      </p>
      <div class="field">
        <label for="new-secret">
          Client secret of <span class="mono">{p.clientId}</span>
        </label>
        <div class="row">
          {/* A text area, so that the whole secret shows, wrapped, even 360 px wide. */}
          <textarea id="new-secret" ref={input} readOnly rows={2} value={p.secret} class="secret" spellcheck={false} autoComplete="off" />
          <button type="button" onClick={() => void copy()}>
            Copy
          </button>
        </div>
        <p class="status" role="status">
          {copied}
        </p>
      </div>
      <button type="button" onClick={p.onDone}>
        I have stored the secret
      </button>
    </section>
  );
}
