import { useEffect, useState } from "preact/hooks";

/** A screen of the console, read from the URL's fragment (#/clients, #/clients/ID, ...). */
export type Route =
  | { screen: "clients" }
  | { screen: "new-client" }
  | { screen: "client"; clientId: string }
  | { screen: "keys" }
  | { screen: "audit"; target: string };

/** Parses a fragment such as "#/audit?target=tcl_1". Unknown fragments show the clients. */
function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const parts = path.split("/").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === "new-client") return { screen: "new-client" };
  if (parts[0] === "clients" && parts[1]) return { screen: "client", clientId: parts[1] };
  if (parts[0] === "keys") return { screen: "keys" };
  if (parts[0] === "audit") return { screen: "audit", target: new URLSearchParams(query).get("target") ?? "" };
  return { screen: "clients" };
}

/** The fragment that shows a route. */
export function href(route: Route): string {
  switch (route.screen) {
    case "clients":
      return "#/clients";
    case "new-client":
      return "#/new-client";
    case "client":
      return `#/clients/${encodeURIComponent(route.clientId)}`;
    case "keys":
      return "#/keys";
    case "audit":
      return route.target ? `#/audit?${new URLSearchParams({ target: route.target })}` : "#/audit";
  }
}

/** Shows another screen (adds a history entry, so Back returns). */
export function go(route: Route): void {
  window.location.hash = href(route);
}

/** The current route, following the fragment as it changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
