import { CONSOLE_PATH, createConsoleRoute } from "./console-route.js";
import { type DocumentRoutesDeps, documentRoutes } from "./document-routes.js";
import { type OAuthRoutesDeps, oauthRoutes } from "./oauth-routes.js";
import { type ProbeRoutesDeps, probeRoutes } from "./probe-routes.js";
import type { AnyResponse } from "./respond.js";
import { type AnyRequest, dispatch } from "./route-table.js";

/** What the plain HTTP endpoints need. */
export interface HttpRoutesDeps extends OAuthRoutesDeps, DocumentRoutesDeps, ProbeRoutesDeps {
  /** The built web console (dist/console); absent: /console says how to build it. */
  consoleDir?: string | undefined;
}

/**
 * The plain HTTP endpoints on the port: the OAuth form endpoints, the .well-known documents,
 * the probes and the web console. Returns a handler that answers the paths it owns and returns
 * false for everything else (left to the RPC router).
 */
export function createHttpRoutes(deps: HttpRoutesDeps): (req: AnyRequest, res: AnyResponse) => boolean {
  const webConsole = createConsoleRoute(deps.consoleDir);
  return dispatch({ ...oauthRoutes(deps), ...documentRoutes(deps), ...probeRoutes(deps) }, (req, res, path) => {
    // After the exact routes, so the token endpoint pays nothing for it.
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
    webConsole(req, res, path);
    return true;
  });
}
