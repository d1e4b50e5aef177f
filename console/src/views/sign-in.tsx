import { useState } from "preact/hooks";
import { ErrorText, Field } from "../components/field.js";
import { ADMIN_SCOPE, type Session, SignInError, sessionFromToken, signInWithSecret } from "../session.js";

/** Props of the sign-in screen. */
export interface SignInProps {
  /** Checks a session against the server before it is accepted (a pasted token may be refused). */
  verify: (session: Session) => Promise<void>;
  onSignedIn: (session: Session) => void;
  /** Why the previous session ended, shown above the form. */
  notice: string | undefined;
  /** The client id of the previous session, filled in again (never the secret). */
  lastClientId: string;
}

/**
 * Sign-in with an admin client's id and secret (exchanged at /oauth/token for a token with
 * scope tessera:admin) or with a pasted access token. Nothing is stored in the browser.
 */
export function SignIn(p: SignInProps) {
  const [mode, setMode] = useState<"secret" | "token">("secret");
  const [clientId, setClientId] = useState(p.lastClientId);
  const [secret, setSecret] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<SignInError | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = mode === "secret" ? await signInWithSecret(clientId, secret) : sessionFromToken(token);
      await p.verify(session);
      setSecret("");
      setToken("");
      p.onSignedIn(session);
    } catch (err) {
      const refused = err instanceof SignInError ? err : new SignInError(err instanceof Error ? err.message : String(err), "form");
      // A refused pasted token is shown next to the token field.
      setError(mode === "token" && refused.field === "form" ? new SignInError(refused.message, "token", refused.detail) : refused);
    } finally {
      setBusy(false);
    }
  };
  const errorFor = (field: SignInError["field"]) =>
    error?.field === field ? error.message + (error.detail ? ` The server said: ${error.detail}` : "") : undefined;

  return (
    <main id="main" class="sign-in" tabIndex={-1}>
      <h1>Sign in to the Tessera console</h1>
      <p>
        Use an admin client: one whose scopes include <code>{ADMIN_SCOPE}</code>. <code>npx tessera bootstrap</code> creates the first one.
        The console keeps its access token in this tab's memory only: reloading or closing the tab signs you out.
      </p>
      {p.notice ? (
        <p class="notice" role="status">
          {p.notice}
        </p>
      ) : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <fieldset class="choice">
          <legend>Sign in with</legend>
          <label>
            <input type="radio" name="mode" value="secret" checked={mode === "secret"} onChange={() => setMode("secret")} /> Client id and
            secret
          </label>
          <label>
            <input type="radio" name="mode" value="token" checked={mode === "token"} onChange={() => setMode("token")} /> An access token
          </label>
        </fieldset>
        {mode === "secret" ? (
          <>
            <Field
              id="client-id"
              label="Client id"
              value={clientId}
              onInput={setClientId}
              error={errorFor("clientId")}
              required
              autoComplete="username"
            />
            <Field
              id="client-secret"
              label="Client secret"
              type="password"
              value={secret}
              onInput={setSecret}
              error={errorFor("secret")}
              required
              autoComplete="off"
            />
          </>
        ) : (
          <Field
            id="access-token"
            label="Access token"
            multiline
            value={token}
            onInput={setToken}
            error={errorFor("token")}
            required
            hint={
              <>
                A JWT issued by this server with scope <code>{ADMIN_SCOPE}</code>, for example from{" "}
                <code>npx tessera token --scope {ADMIN_SCOPE}</code>.
              </>
            }
          />
        )}
        <ErrorText id="sign-in-error" message={errorFor("form")} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
