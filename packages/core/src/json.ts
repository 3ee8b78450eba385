import * as z from "zod";
import { ValidationError } from "./errors.js";
import { MAX_JSON_DEPTH } from "./storable.js";

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// MAX_JSON_DEPTH (storable.ts): how deep a JSON value may nest anywhere @ops accepts one. Deeper
// input is refused before anything walks it recursively (a 100,000-level value would overflow
// the stack of every recursive reader, from zod to `JSON.stringify`).

/** Whether `value` nests deeper than `limit` levels; iterative, so any depth is safe to ask about. */
export function jsonDepthExceeds(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return false;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const c of children) if (typeof c === "object" && c !== null) stack.push([c, depth + 1]);
  }
  return false;
}

const JsonValueTree: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, "expected a finite number"),
    z.boolean(),
    z.null(),
    z.array(JsonValueTree),
    z.record(z.string(), JsonValueTree),
  ]),
);

/** Any JSON value nested at most {@link MAX_JSON_DEPTH} levels deep. */
export const JsonValueSchema: z.ZodType<JsonValue> = z
  .custom<unknown>((v) => !jsonDepthExceeds(v), `expected JSON nested at most ${MAX_JSON_DEPTH} levels deep`)
  .pipe(JsonValueTree);

export const JsonObjectSchema: z.ZodType<JsonObject> = z.record(z.string(), JsonValueSchema);

/**
 * `JSON.parse` for untrusted text that refuses nesting deeper than `maxDepth` while scanning,
 * before a value exists. An empty (or blank) text is `emptyAs`.
 * @throws ValidationError with path `(body)` for invalid JSON or too deep a nesting.
 */
export function parseJsonText(text: string, options: { maxDepth?: number; emptyAs?: unknown } = {}): unknown {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  if ("emptyAs" in options && text.trim() === "") return options.emptyAs;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth)
        throw new ValidationError(`invalid body: JSON nested deeper than ${maxDepth} levels`, [
          { path: "(body)", message: `expected JSON nested at most ${maxDepth} levels deep` },
        ]);
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError("invalid body: not valid JSON", [{ path: "(body)", message: "expected valid JSON" }]);
  }
}
