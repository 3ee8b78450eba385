// app/api/ops/auth/route.ts — a hand-written route handler, importing from @ops/incidents
// instead of `@/src/...`. One addition: a bad body (a `ValidationError` from `deriveAuthIncidents`
// naming each field) is answered 400 instead of an unhandled 500.
import { NextResponse } from "next/server";
import { isOpsError, ValidationError } from "@ops/core";
import { deriveAuthIncidents, runAuthOpsSpine, type SpineEvent, type SpineResponse } from "@ops/incidents";

export async function POST(req: Request) {
  try {
    // `Request.json()` is `Promise<unknown>` in Node's types (`any` in the DOM lib).
    const body = (await req.json()) as { metrics?: unknown; context?: unknown };
    const incidents = deriveAuthIncidents(body.metrics, body.context);

    const results: Array<{ event: SpineEvent; response: SpineResponse }> = [];
    for (const event of incidents) {
      const response = runAuthOpsSpine(event);
      results.push({ event, response });
    }

    return NextResponse.json({ ok: true, incidents: results });
  } catch (err) {
    if (err instanceof SyntaxError) return NextResponse.json({ ok: false, error: "invalid JSON body" }, { status: 400 });
    if (err instanceof ValidationError) return NextResponse.json({ ok: false, error: err.message, issues: err.issues }, { status: 400 });
    return NextResponse.json({ ok: false, error: isOpsError(err) ? err.code : "internal error" }, { status: 500 });
  }
}
