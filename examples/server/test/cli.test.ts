import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dir = fileURLToPath(new URL("..", import.meta.url));
const tsx = join(dir, "node_modules", "tsx", "dist", "cli.mjs");

/** `pnpm start` without pnpm: the real entry point in a child process. */
function start(env: Record<string, string>): {
  child: ChildProcess;
  url: Promise<string>;
  out: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [tsx, "--conditions=@ops/source", "src/main.ts"], {
    cwd: dir,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (b: Buffer) => void (out += b.toString()));
    child.once("exit", () => reject(new Error(`exited before listening:\n${out}`)));
  });
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, url, out: () => out, exit };
}

const dataDir = await mkdtemp(join(tmpdir(), "ops-example-cli-"));
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("the service process (src/main.ts)", () => {
  it("stops with a clear message on a bad environment", async () => {
    const p = start({ PORT: "eighty", OPS_MITIGATION: "sometimes" });
    await expect(p.url).rejects.toThrow();
    expect(await p.exit).toBe(1);
    expect(p.out()).toContain(
      "[ops/example-server] invalid environment: PORT: expected a port number 0..65535 (0 = any free port); OPS_MITIGATION: expected off, suggest or apply",
    );
  }, 60_000);

  it("keeps PGlite data between runs and shuts down cleanly on SIGTERM", async () => {
    const first = start({ OPS_DATA_DIR: dataDir, OPS_DRAIN_MS: "200" });
    const url = await first.url;
    // Trusted-gateway mode (no JWT secret): the headers a gateway would set.
    const admin = { "x-ops-actor": "admin", "x-ops-roles": "admin", "x-ops-scope": "global" };
    const put = await fetch(`${url}/ops/api/v1/flags/kept.flag/value`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...admin },
      body: JSON.stringify({ value: "v1", reason: "persist" }),
    });
    expect(put.status).toBe(200);
    first.child.kill("SIGTERM");
    expect(await first.exit).toBe(0);
    expect(first.out()).toContain('"event":"shutdown"');

    const second = start({ OPS_DATA_DIR: dataDir, OPS_DRAIN_MS: "0" });
    const url2 = await second.url;
    const got = (await (await fetch(`${url2}/ops/api/v1/flags/kept.flag`, { headers: admin })).json()) as unknown;
    expect(got).toMatchObject({ value: "v1", updatedBy: "admin" });
    expect((await fetch(`${url2}/ops/api/v1/flags/kept.flag`)).status).toBe(401);
    const verify = (await (await fetch(`${url2}/ops/api/v1/audit/verify`, { headers: admin })).json()) as unknown;
    expect(verify).toMatchObject({ ok: true, checked: 1 });
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
  }, 120_000);
});
