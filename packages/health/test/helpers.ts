import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";

/** Listens on an ephemeral 127.0.0.1 port; resolves with the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never answers: a hung dependency. */
export async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s = createNetServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    port: (s.address() as AddressInfo).port,
    close: () => {
      for (const sock of sockets) sock.destroy();
      return new Promise((resolve) => s.close(() => resolve()));
    },
  };
}

/** Serves a fetch-API handler on a real node http server (what Next.js / Hono adapters do). */
export function fetchServer(handler: (req: Request) => Promise<Response | undefined> | Response): Server {
  return createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const url = `http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    void Promise.resolve(handler(new Request(url, { method: req.method ?? "GET", headers }))).then(async (r) => {
      const response = r ?? new Response("not found", { status: 404 });
      res.statusCode = response.status;
      response.headers.forEach((v, k) => res.setHeader(k, v));
      res.end(req.method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
    });
  });
}

/** A promise and its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
