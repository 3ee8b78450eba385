import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
  ".map": "application/json; charset=utf-8",
};

/** No inline script or style, nothing from another origin, never framed. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The built UI: `dist/ui` next to the built entry, or of the package when running from source. */
export function defaultUiDir(): string | undefined {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const dir of [join(here, "ui"), join(here, "..", "dist", "ui")]) if (existsSync(join(dir, "index.html"))) return dir;
  return undefined;
}

/** Serves one file of the built UI (`rel` relative to its root), or null when there is none. */
export async function serveAsset(uiDir: string | undefined, rel: string, method: string): Promise<Response | null> {
  if (!uiDir) {
    return new Response("The @ops/console UI is not built: run `pnpm --filter @ops/console build`. The API works without it.\n", {
      status: 503,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  }
  const file = normalize(join(uiDir, rel === "" ? "index.html" : rel));
  // Never outside the UI directory, whatever the path says.
  if (file !== uiDir && !file.startsWith(uiDir.endsWith(sep) ? uiDir : uiDir + sep)) return null;
  const type = TYPES[extname(file)];
  if (!type) return null;
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return null;
  }
  const hashed = rel.startsWith("assets/");
  return new Response(method === "HEAD" ? null : new Uint8Array(body), {
    status: 200,
    headers: {
      "content-type": type,
      "content-length": String(body.byteLength),
      "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
    },
  });
}
