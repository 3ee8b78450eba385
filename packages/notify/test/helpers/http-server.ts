import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the server does with the next request. */
export type Behaviour = { status: number; body?: string; headers?: Record<string, string> } | "hang";

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers from a script
 * (`queue`), falling back to `fallback`. Hanging requests are held until `releaseHung()` or close.
 */
export class RecordingServer {
  readonly requests: Recorded[] = [];
  private readonly script: Behaviour[] = [];
  private readonly hung: ServerResponse[] = [];
  private server!: Server;
  url = "";

  constructor(private fallback: Behaviour = { status: 200, body: "ok" }) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        });
        const b = this.script.shift() ?? this.fallback;
        if (b === "hang") {
          this.hung.push(res);
          return;
        }
        res.writeHead(b.status, { "content-type": "text/plain", ...b.headers });
        res.end(b.body ?? "");
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Queues behaviours for the next requests, in order. */
  queue(...behaviours: Behaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  setFallback(b: Behaviour): this {
    this.fallback = b;
    return this;
  }

  /** Answers every held request with `status`. */
  releaseHung(status = 200, body = "ok"): void {
    for (const res of this.hung.splice(0)) {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(body);
    }
  }

  async close(): Promise<void> {
    for (const res of this.hung.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
