import type { Storage } from "../core/ports/storage.js";

/**
 * Wraps a Storage so every failed operation is reported (metrics, write health) before the
 * error goes on to the caller unchanged. Each method is wrapped once, on first use: the token
 * path calls getClient on every request.
 */
export function instrumentStorage(storage: Storage, onError: (operation: string, err: unknown) => void): Storage {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const known = wrapped.get(prop);
      if (known !== undefined) return known;
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || prop === "close") return value;
      const operation = String(prop);
      const fn = value as (...a: unknown[]) => Promise<unknown>;
      const report = (err: unknown): never => {
        onError(operation, err);
        throw err;
      };
      // Every method returns a promise but subscribeChanges, whose result passes as it is.
      const method = (...args: unknown[]) => {
        const result = fn.apply(target, args);
        return result instanceof Promise ? result.catch(report) : result;
      };
      wrapped.set(prop, method);
      return method;
    },
  });
}
