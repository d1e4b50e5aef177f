import { readWholeMessages } from "./grpc/whole-messages.js";
import type { RequestHandler } from "./listener/serving-parts.js";

/**
 * Every request on the port: the plain HTTP endpoints answer the paths they own (the OAuth
 * form endpoints first, so a token costs no RPC routing), the RPC handler everything else.
 */
export function onePortHandler(
  plain: (...args: Parameters<RequestHandler>) => boolean,
  rpc: RequestHandler,
  maxMessageBytes: number,
): RequestHandler {
  return (req, res) => {
    if (plain(req, res)) return;
    readWholeMessages(req, maxMessageBytes);
    rpc(req, res);
  };
}
