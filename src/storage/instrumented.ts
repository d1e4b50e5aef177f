import type { Storage } from "./storage.js";

/**
 * Wraps a Storage so every failed operation is reported (metrics, write health) before the
 * error goes on to the caller unchanged.
 */
export function instrumentStorage(storage: Storage, onError: (operation: string, err: unknown) => void): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || prop === "close") return value;
      const operation = String(prop);
      return (...args: unknown[]) =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch((err: unknown) => {
          onError(operation, err);
          throw err;
        });
    },
  });
}
