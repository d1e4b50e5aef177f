import { Code, ConnectError } from "@connectrpc/connect";
import type { JSX } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { createApi, type SessionEnd } from "./api.js";
import { describeError } from "./errors.js";
import { formatMs, formatSoon } from "./format.js";
import { href, type Route, useRoute } from "./route.js";
import { LACKS_ADMIN, type Session, SignInError } from "./session.js";
import { Audit } from "./views/audit.js";
import { ClientCreate } from "./views/client-create.js";
import { ClientDetail } from "./views/client-detail.js";
import { ClientsList, type ListView } from "./views/clients-list.js";
import { Keys } from "./views/keys.js";
import { SignIn } from "./views/sign-in.js";

const TITLES: Record<Route["screen"], string> = {
  clients: "Clients",
  "new-client": "New client",
  client: "Client",
  keys: "Signing keys",
  audit: "Audit trail",
};

// setTimeout fires at once for delays above 2^31-1 ms; a later expiry is checked on each call.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks a new session with one cheap admin call, so a refused token never reaches the screens. */
async function verify(session: Session): Promise<void> {
  try {
    await createApi(session, () => {}).keys.listSigningKeys({});
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.PermissionDenied) throw new SignInError(LACKS_ADMIN, "form", err.rawMessage);
    if (err instanceof ConnectError && err.code === Code.Unauthenticated) {
      throw new SignInError("The server refused this access token.", "form", err.rawMessage);
    }
    throw new SignInError(describeError(err).message, "form");
  }
}

/** The console: sign-in, then the screens of the admin API behind a shared header. */
export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [lastClientId, setLastClientId] = useState("");
  const [listView, setListView] = useState<ListView>({ text: "", status: "all", page: 0 });
  const [listNotice, setListNotice] = useState<string | undefined>(undefined);
  const route = useRoute();

  // The session as of now, for callbacks that outlive a render (timers, calls in flight).
  const live = useRef<Session | undefined>(undefined);
  const end = useCallback((why: SessionEnd | "signed-out" | "keys-withdrawn", s: Session) => {
    if (live.current !== s) return; // already ended, or another session began since
    live.current = undefined;
    setLastClientId(s.clientId);
    setNotice(
      why === "expired"
        ? `Your session expired${s.expiresAt ? ` at ${formatMs(s.expiresAt)}` : ""}. Sign in again to continue.`
        : why === "refused"
          ? "The server no longer accepts your access token: it was revoked or cut off, or its client was disabled or deleted. Sign in again."
          : why === "keys-withdrawn"
            ? "The forced rotation withdrew the keys that signed every token so far, including the one you signed in with. Sign in again to continue with a token from the new key."
            : `Signed out: the access token was dropped from this page${s.expiresAt ? `; the server accepts it until ${formatMs(s.expiresAt)}` : ""}.`,
    );
    setSession(undefined);
  }, []);
  const api = useMemo(() => (session ? createApi(session, (why) => end(why, session)) : undefined), [session, end]);

  // Ask again when the token expires, even if nobody clicks anything.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const timer = setTimeout(() => end("expired", session), Math.min(MAX_TIMER_MS, Math.max(0, session.expiresAt - Date.now())));
    return () => clearTimeout(timer);
  }, [session, end]);

  // A notice about the list ("Deleted ...") is for the first visit after it, not every later one.
  useEffect(() => {
    if (route.screen !== "clients") setListNotice(undefined);
  }, [route]);

  // A new screen: say so in the title and move keyboard focus to it.
  useEffect(() => {
    document.title = session ? `${TITLES[route.screen]} · Tessera console` : "Sign in · Tessera console";
    document.getElementById("main")?.focus();
  }, [route, session !== undefined]);

  if (!session || !api) {
    return (
      <>
        <Header />
        <SignIn
          verify={verify}
          notice={notice}
          lastClientId={lastClientId}
          onSignedIn={(s) => {
            live.current = s;
            setNotice(undefined);
            setSession(s);
          }}
        />
      </>
    );
  }

  let screen: JSX.Element;
  switch (route.screen) {
    case "clients":
      screen = <ClientsList api={api} view={listView} onView={setListView} notice={listNotice} />;
      break;
    case "new-client":
      screen = <ClientCreate api={api} />;
      break;
    case "client":
      screen = (
        <ClientDetail
          api={api}
          clientId={route.clientId}
          onDeleted={(c) => {
            setListNotice(`Deleted the client ${c.name} (${c.clientId}).`);
            window.location.hash = href({ screen: "clients" });
          }}
        />
      );
      break;
    case "keys":
      screen = <Keys api={api} onKeysWithdrawn={() => end("keys-withdrawn", session)} />;
      break;
    case "audit":
      screen = <Audit api={api} target={route.target} />;
      break;
  }
  return (
    <>
      <Header route={route} session={session} onSignOut={() => end("signed-out", session)} />
      {screen}
    </>
  );
}

/** The top bar: skip link, name, the screens, who is signed in. */
function Header(p: { route?: Route; session?: Session; onSignOut?: () => void }) {
  const current = (screen: Route["screen"]) =>
    p.route && (p.route.screen === screen || (screen === "clients" && (p.route.screen === "client" || p.route.screen === "new-client")))
      ? ("page" as const)
      : undefined;
  return (
    <header class="top">
      {/* biome-ignore lint/a11y/useValidAnchor: a real link to #main for any reader; the handler only moves focus without touching the hash, which the router owns */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <span class="brand">Tessera console</span>
      {p.session ? (
        <>
          <nav aria-label="Screens">
            <a href={href({ screen: "clients" })} aria-current={current("clients")}>
              Clients
            </a>
            <a href={href({ screen: "keys" })} aria-current={current("keys")}>
              Signing keys
            </a>
            <a href={href({ screen: "audit", target: "" })} aria-current={current("audit")}>
              Audit trail
            </a>
          </nav>
          <div class="who">
            <span>
              Signed in as <span class="mono">{p.session.clientId || "unknown client"}</span>
              {p.session.expiresAt ? <span class="until">, until {formatSoon(p.session.expiresAt)}</span> : null}
            </span>
            <button type="button" onClick={p.onSignOut}>
              Sign out
            </button>
          </div>
        </>
      ) : null}
    </header>
  );
}
