import { Code, ConnectError } from "@connectrpc/connect";
import { LACKS_ADMIN } from "./session.js";

/** An API failure in words, and the form field it is about (when the server named one). */
export interface Problem {
  message: string;
  /** The request field the server named, e.g. "name", "scopes", "token_ttl", "grace_period". */
  field?: string;
}

/** A problem found in the console before calling the server (a duration it cannot read, say). */
export class ProblemError extends Error {
  override readonly name = "ProblemError";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

// Admin errors name the offending field first ("name must be ...", "client.scopes contains ...").
const FIELD = /^(?:client\.)?([a-z_]+) /;

/** Describes any error of an admin call in words a person can act on. */
export function describeError(err: unknown): Problem {
  if (err instanceof ProblemError) return err.field === undefined ? { message: err.message } : { message: err.message, field: err.field };
  if (!(err instanceof ConnectError)) {
    return { message: err instanceof Error ? `The console failed: ${err.message}` : "The console failed unexpectedly." };
  }
  const said = err.rawMessage;
  switch (err.code) {
    case Code.InvalidArgument: {
      const field = FIELD.exec(said)?.[1];
      return field ? { message: `Refused: ${said}.`, field } : { message: `Refused: ${said}.` };
    }
    case Code.AlreadyExists:
      return { message: `Refused: ${said}.`, field: "client_id" };
    case Code.NotFound:
      return { message: `Not found: ${said}. Someone may have deleted it; reload the list.` };
    case Code.PermissionDenied:
      return { message: `${LACKS_ADMIN} (${said})` };
    case Code.Unauthenticated:
      return { message: `Your session ended (${said}). Sign in again.` };
    case Code.FailedPrecondition:
      return { message: `Refused: ${said}.` };
    case Code.ResourceExhausted:
      return { message: `Too many requests: ${said}. Wait a moment and try again.` };
    case Code.Unavailable:
      return { message: `The server cannot do this right now: ${said}.` };
    case Code.Internal:
      return { message: "The server failed with an internal error; its log has the cause." };
    default:
      // connect-web reports a failed fetch (server down, network gone) as Unknown.
      return { message: `The server cannot be reached or answered strangely (${said}). Check that Tessera is running, then try again.` };
  }
}

/** The problem's message if it is about `field`, else undefined. */
export function problemFor(problem: Problem | undefined, field: string): string | undefined {
  return problem?.field === field ? problem.message : undefined;
}

/** The problem's message if it is about no field the form shows. */
export function generalProblem(problem: Problem | undefined, fields: readonly string[]): string | undefined {
  if (!problem) return undefined;
  return problem.field !== undefined && fields.includes(problem.field) ? undefined : problem.message;
}
