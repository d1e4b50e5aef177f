/** OAuth parameter name (snake_case, as in the proto) -> protobuf-es field name (camelCase). */
const FIELD_NAMES = new Map<string, string>();

/**
 * A request message's field by its OAuth parameter name (client_id -> clientId), for the client
 * authentication methods, which read every door's requests by the same names. Proto3 leaves an
 * unset string empty; empty counts as absent, as an empty form parameter does (RFC 6749 §3.2).
 */
export function messageParam(message: object, name: string): string | undefined {
  let field = FIELD_NAMES.get(name);
  if (field === undefined) {
    field = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    FIELD_NAMES.set(name, field);
  }
  const value: unknown = Reflect.get(message, field);
  return typeof value === "string" && value !== "" ? value : undefined;
}
