import { describe, expect, it } from "vitest";
import { JsonObjectSchema, JsonValueSchema, jsonDepthExceeds, MAX_JSON_DEPTH, parseJsonText, ValidationError } from "@ops/core";

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe("JSON depth bound", () => {
  it("jsonDepthExceeds counts arrays and objects, iteratively", () => {
    expect(jsonDepthExceeds(1)).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    // Far deeper than any recursive walker survives.
    expect(jsonDepthExceeds(nested(200_000))).toBe(true);
  });

  it("JsonValueSchema refuses a value nested deeper than the bound with an issue, not a RangeError", () => {
    expect(JsonValueSchema.safeParse(nested(MAX_JSON_DEPTH)).success).toBe(true);
    const r = JsonValueSchema.safeParse(nested(100_000));
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe(`expected JSON nested at most ${MAX_JSON_DEPTH} levels deep`);
    const o = JsonObjectSchema.safeParse({ ok: 1, deep: nested(100_000) });
    expect(o.success).toBe(false);
    expect(o.error!.issues[0]!.path).toEqual(["deep"]);
  });

  it("parseJsonText refuses deep text while scanning, ignores brackets inside strings", () => {
    const deepText = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(() => parseJsonText(deepText)).toThrow(ValidationError);
    try {
      parseJsonText(deepText);
    } catch (err) {
      expect((err as ValidationError).issues).toEqual([
        { path: "(body)", message: `expected JSON nested at most ${MAX_JSON_DEPTH} levels deep` },
      ]);
    }
    expect(parseJsonText(JSON.stringify({ s: "[[[[{{{{".repeat(100), q: 'a\\"[' }))).toEqual({ s: "[[[[{{{{".repeat(100), q: 'a\\"[' });
    expect(parseJsonText("  ", { emptyAs: {} })).toEqual({});
    expect(() => parseJsonText("{")).toThrow(/not valid JSON/);
    expect(parseJsonText("[[1]]", { maxDepth: 2 })).toEqual([[1]]);
    expect(() => parseJsonText("[[[1]]]", { maxDepth: 2 })).toThrow(/deeper than 2 levels/);
  });
});
