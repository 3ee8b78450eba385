import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createConnection } from "node:net";
import { MemoryAuditStore, MemorySubjectKeyStore } from "@ops/adapter-memory";
import { ManualClock } from "@ops/core";

export function memory() {
  return { store: new MemoryAuditStore(), keys: new MemorySubjectKeyStore(), clock: new ManualClock("2026-03-01T12:00:00.000Z") };
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A real HTTP server on 127.0.0.1 that records requests and answers with `respond`. */
export async function httpServer(
  respond: (req: Received, n: number) => number = () => 200,
): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(r);
      res.statusCode = respond(r, received.length);
      res.end(res.statusCode < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const PG_URL = process.env.OPS_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";

/** True when PostgreSQL answers; under CI a missing server throws instead of skipping. */
export async function pgUp(): Promise<boolean> {
  const u = new URL(PG_URL);
  const ok = await new Promise<boolean>((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || 5432) });
    s.setTimeout(1500, () => (s.destroy(), resolve(false)));
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
  if (!ok && process.env.CI) throw new Error(`[ops/audit tests] postgres is not answering at ${u.host}`);
  if (!ok) console.warn(`[ops/audit tests] SKIPPING PostgreSQL round-trip tests: nothing at ${u.host}`);
  return ok;
}
