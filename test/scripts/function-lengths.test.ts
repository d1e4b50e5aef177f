import { describe, expect, it } from "vitest";
import { functionLengths } from "../../scripts/function-lengths.js";

const source = `
export function short(a: number): number {
  return a + 1;
}

// long: a table read whole
export const table = () => {
  const x = 1;
  return x;
};

class Thing {
  method(): void {
    const inner = function () {};
    inner();
  }
}
`;

describe("functionLengths", () => {
  const found = functionLengths("sample.ts", source);
  const byName = (name: string) => found.find((f) => f.name === name);

  it("measures declarations, arrows assigned to names, methods and anonymous functions in lines", () => {
    expect(byName("short")).toMatchObject({ line: 2, lines: 3, reason: undefined });
    expect(byName("table")).toMatchObject({ line: 7, lines: 4 });
    expect(byName("method")).toMatchObject({ line: 13, lines: 4 });
    expect(byName("inner")).toMatchObject({ line: 14, lines: 1 });
  });

  it("reads the reason from a // long: comment above the statement that holds the function", () => {
    expect(byName("table")?.reason).toBe("a table read whole");
    expect(byName("method")?.reason).toBeUndefined();
  });
});
