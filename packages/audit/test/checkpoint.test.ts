import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, IntegrityError, UnavailableError } from "@ops/core";
import {
  checkpointObjectKey,
  createAuditLog,
  fileCheckpointSink,
  generateCheckpointKeys,
  objectStorageCheckpointSink,
  signCheckpoint,
  verifyCheckpoint,
  verifyCheckpointLog,
  webhookCheckpointSink,
  type CheckpointSink,
  type SignedCheckpoint,
} from "@ops/audit";
import { httpServer, memory } from "./helpers.js";
import { main as cli } from "../src/cli.js";

const keys = generateCheckpointKeys();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("signed checkpoints", () => {
  it("sign and verify; any change to the payload, or another key, fails", () => {
    const cp = signCheckpoint({
      heads: [
        { tenantId: "b", seq: 2, hash: "bb" },
        { tenantId: null, seq: 9, hash: "gg" },
        { tenantId: "a", seq: 1, hash: "aa" },
      ],
      privateKey: keys.privateKey,
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    expect(cp.payload.heads.map((h) => h.tenantId)).toEqual([null, "a", "b"]);
    expect(verifyCheckpoint(cp, keys.publicKey)).toBe(true);
    expect(verifyCheckpoint(cp, keys.privateKey)).toBe(true);
    const bumped = structuredClone(cp);
    bumped.payload.heads[1]!.seq = 5;
    expect(verifyCheckpoint(bumped, keys.publicKey)).toBe(false);
    const rehashed = structuredClone(cp);
    rehashed.payload.heads[1]!.hash = "ff";
    expect(verifyCheckpoint(rehashed, keys.publicKey)).toBe(false);
    expect(verifyCheckpoint({ ...cp, signature: "AAAA" }, keys.publicKey)).toBe(false);
    expect(verifyCheckpoint(cp, generateCheckpointKeys().publicKey)).toBe(false);
    expect(() => signCheckpoint({ heads: [], privateKey: "not a key", createdAt: "x" })).toThrow(ConfigError);
  });

  it("log.checkpoint signs every chain head, links to the previous checkpoint, and writes every sink", async () => {
    const { store, clock } = memory();
    const got: SignedCheckpoint[] = [];
    const sink: CheckpointSink = { name: "mem", write: async (cp) => void got.push(cp) };
    const log = createAuditLog({ store, clock, env: "prod", checkpoints: { privateKey: keys.privateKey, sinks: [sink] } });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "a" });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "b" });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u" });
    const cp1 = await log.checkpoint();
    expect(cp1.payload.heads.map((h) => [h.tenantId, h.seq])).toEqual([
      [null, 1],
      ["a", 1],
      ["b", 1],
    ]);
    const cp2 = await log.checkpoint();
    expect(cp2.payload.prevSignature).toBe(cp1.signature);
    expect(got).toEqual([cp1, cp2]);
    expect(log.lastCheckpoint).toEqual(cp2);
  });

  it("a sink failure is reported after the other sinks were written", async () => {
    const { store } = memory();
    const ok: SignedCheckpoint[] = [];
    const log = createAuditLog({
      store,
      env: "prod",
      checkpoints: {
        privateKey: keys.privateKey,
        sinks: [
          { name: "broken", write: async () => Promise.reject(new Error("x")) },
          { name: "ok", write: async (cp) => void ok.push(cp) },
        ],
      },
    });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u" });
    await expect(log.checkpoint()).rejects.toThrow(/not stored by sink\(s\): broken/);
    expect(ok).toHaveLength(1);
  });

  it("checkpoints on a schedule", async () => {
    const { store } = memory();
    let resolve!: (cp: SignedCheckpoint) => void;
    const first = new Promise<SignedCheckpoint>((r) => (resolve = r));
    const log = createAuditLog({
      store,
      env: "prod",
      checkpoints: { privateKey: keys.privateKey, everyMs: 10, sinks: [{ name: "mem", write: async (cp) => resolve(cp) }] },
    });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "sched" });
    const cp = await first;
    expect(verifyCheckpoint(cp, keys.publicKey)).toBe(true);
    await log.close();
  });

  it("verify uses checkpoints: a recomputed chain is caught; a forged checkpoint throws IntegrityError", async () => {
    const { store } = memory();
    const log = createAuditLog({ store, env: "prod", checkpoints: { privateKey: keys.privateKey, sinks: [] } });
    for (let i = 0; i < 6; i++) await log.append({ action: "DATA_ACCESS", actorUserId: `u${i}`, tenantId: "t" });
    const cp = await log.checkpoint();
    expect(await log.verify({ tenantId: "t", checkpoints: [cp] })).toMatchObject({ ok: true, checked: 6, anchorsChecked: 1 });
    for (let s = 6; s >= 5; s--) store.rawDelete("t", s);
    expect((await log.verify({ tenantId: "t" })).ok).toBe(true);
    expect((await log.verify({ tenantId: "t", checkpoints: [cp] })).problem).toMatchObject({ kind: "truncated", seq: 5 });
    const forged = signCheckpoint({
      heads: [{ tenantId: "t", seq: 4, hash: "x" }],
      privateKey: generateCheckpointKeys().privateKey,
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    await expect(log.verify({ tenantId: "t", checkpoints: [forged] })).rejects.toThrow(IntegrityError);
  });

  it("verifyAll checks every chain against the checkpoint", async () => {
    const { store } = memory();
    const log = createAuditLog({ store, env: "prod", checkpoints: { privateKey: keys.privateKey, sinks: [] } });
    for (const t of [null, "x", "y"])
      for (let i = 0; i < 3; i++) await log.append({ action: "DATA_ACCESS", actorUserId: "u", tenantId: t });
    const cp = await log.checkpoint();
    store.rawUpdate("y", 2, { reason: "edited" });
    const results = await log.verifyAll({ checkpoints: [cp] });
    expect(results.map((r) => [r.tenantId, r.ok, r.problem?.kind ?? null])).toEqual([
      [null, true, null],
      ["x", true, null],
      ["y", false, "modified"],
    ]);
  });

  it("verify from/to checks a window of the chain, linking to the entry before it", async () => {
    const { store } = memory();
    const log = createAuditLog({ store, env: "prod" });
    for (let i = 0; i < 30; i++) await log.append({ action: "DATA_ACCESS", actorUserId: `u${i}`, tenantId: "w" });
    expect(await log.verify({ tenantId: "w", from: 10, to: 20 })).toMatchObject({ ok: true, checked: 11, lastSeq: 20 });
    store.rawUpdate("w", 25, { action: "DATA_DELETE" });
    expect((await log.verify({ tenantId: "w", from: 10, to: 20 })).ok).toBe(true);
    expect((await log.verify({ tenantId: "w", from: 21 })).problem).toMatchObject({ kind: "modified", seq: 25 });
    store.rawDelete("w", 9);
    expect((await log.verify({ tenantId: "w", from: 10 })).problem).toMatchObject({ kind: "removed", seq: 9 });
    await expect(log.verify({ tenantId: "w", from: 0 })).rejects.toThrow(/invalid verify input: from: expected a seq >= 1/);
    await expect(log.verify({ tenantId: "w", from: 5, to: 2 })).rejects.toThrow(/to: expected to >= from/);
    await expect(log.verify({ tenantId: "bad tenant" })).rejects.toThrow(/tenantId/);
  });
});

describe("checkpoint sinks", () => {
  const cp = signCheckpoint({
    heads: [{ tenantId: "a", seq: 3, hash: "h" }],
    privateKey: keys.privateKey,
    createdAt: "2026-02-03T04:05:06.789Z",
  });

  it("file: appends one JSON line per checkpoint, fsynced, and reads them back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ops-audit-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const sink = fileCheckpointSink({ path: join(dir, "sub", "checkpoints.jsonl") });
    expect(await sink.latest()).toBeNull();
    const cp2 = signCheckpoint({
      heads: [],
      privateKey: keys.privateKey,
      createdAt: "2026-02-03T05:00:00.000Z",
      prevSignature: cp.signature,
    });
    await sink.write(cp);
    await sink.write(cp2);
    expect(await sink.readAll()).toEqual([cp, cp2]);
    expect(await sink.latest()).toEqual(cp2);
  });

  it("a checkpoint log verifies as a chain of signatures (library and `ops-audit checkpoints`)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ops-audit-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "cps.jsonl");
    const sink = fileCheckpointSink({ path });
    const { store } = memory();
    const log = createAuditLog({ store, env: "prod", checkpoints: { privateKey: keys.privateKey, sinks: [sink] } });
    for (let i = 0; i < 4; i++) {
      await log.append({ action: "AUTH_LOGIN", actorUserId: "u" });
      await log.checkpoint();
    }
    const all = await sink.readAll();
    expect(verifyCheckpointLog(all, keys.publicKey)).toEqual({ ok: true, checked: 4, lastSeq: 4 });
    expect(verifyCheckpointLog([all[0]!, all[2]!, all[3]!], keys.publicKey)).toMatchObject({ ok: false, badIndex: 1 });
    expect(verifyCheckpointLog([all[0]!, all[2]!, all[1]!], keys.publicKey)).toMatchObject({ ok: false, badIndex: 1 });
    const edited = structuredClone(all);
    edited[3]!.payload.heads[0]!.seq = 99;
    expect(verifyCheckpointLog(edited, keys.publicKey)).toMatchObject({ ok: false, badIndex: 3 });

    const pem = join(dir, "pub.pem");
    await writeFile(pem, keys.publicKey);
    const outs: string[] = [];
    expect(
      await cli(
        ["checkpoints", path, "--public-key", pem],
        (s) => outs.push(s),
        () => {},
      ),
    ).toBe(0);
    expect(outs.join("")).toMatch(/^OK: 4 checkpoint\(s\)/);
    await writeFile(path, [all[0], all[2], all[3]].map((c) => JSON.stringify(c)).join("\n"));
    expect(
      await cli(
        ["checkpoints", path, "--public-key", pem],
        (s) => outs.push(s),
        () => {},
      ),
    ).toBe(1);
    expect(
      await cli(
        ["checkpoints", path],
        () => {},
        () => {},
      ),
    ).toBe(2);
  });

  it("webhook: POSTs JSON with an HMAC signature to a real HTTP server; retries 5xx", async () => {
    const server = await httpServer((_req, n) => (n === 1 ? 503 : 204));
    cleanups.push(server.close);
    await webhookCheckpointSink({ url: `${server.url}/hooks/audit`, secret: "s3cret", retries: 2 }).write(cp);
    expect(server.received).toHaveLength(2);
    const req = server.received[1]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/hooks/audit");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual(cp);
    expect(req.headers["x-ops-signature"]).toBe(`sha256=${createHmac("sha256", "s3cret").update(req.body).digest("hex")}`);
  });

  it("webhook: a 4xx fails at once, and errors never contain the URL", async () => {
    const server = await httpServer(() => 403);
    cleanups.push(server.close);
    const url = `${server.url}/hooks/secret-token-123`;
    const err = await webhookCheckpointSink({ url, retries: 3 })
      .write(cp)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(String((err as Error).message)).toMatch(/webhook checkpoint sink failed: HTTP 403/);
    expect(String((err as Error).message)).not.toContain("secret-token-123");
    expect(server.received).toHaveLength(1);
    const dead = await webhookCheckpointSink({ url: "http://127.0.0.1:1/x?token=abc", retries: 0 })
      .write(cp)
      .catch((e: unknown) => e);
    expect(String((dead as Error).message)).toMatch(/network error/);
    expect(String((dead as Error).message)).not.toContain("token=abc");
  });

  it("object storage: PUTs the JSON object to the presigned URL, write-once", async () => {
    const server = await httpServer((req) => (req.method === "PUT" ? 200 : 405));
    cleanups.push(server.close);
    const keysAsked: string[] = [];
    const sink = objectStorageCheckpointSink({
      prefix: "acme/audit/",
      presignPut: (key) => {
        keysAsked.push(key);
        return `${server.url}/bucket/${key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=abc123`;
      },
    });
    await sink.write(cp);
    const key = checkpointObjectKey(cp, "acme/audit/");
    expect(keysAsked).toEqual([key]);
    expect(key).toMatch(/^acme\/audit\/2026-02-03T04-05-06-789Z-[0-9a-f]{16}\.json$/);
    const req = server.received[0]!;
    expect(req.method).toBe("PUT");
    expect(req.url).toBe(`/bucket/${key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=abc123`);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["if-none-match"]).toBe("*");
    expect(Number(req.headers["content-length"])).toBe(Buffer.byteLength(req.body));
    expect(JSON.parse(req.body)).toEqual(cp);
  });

  it("object storage: an existing object (412) is never overwritten and fails the write", async () => {
    const server = await httpServer(() => 412);
    cleanups.push(server.close);
    const sink = objectStorageCheckpointSink({ presignPut: (key) => `${server.url}/b/${key}?X-Amz-Signature=zzz` });
    const err = await sink.write(cp).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/object-storage checkpoint sink failed: HTTP 412/);
    expect(String((err as Error).message)).not.toContain("X-Amz-Signature");
    expect(server.received).toHaveLength(1);
  });
});

describe("checkpoint sinks: options checked at construction (review)", () => {
  it("a bad URL, retries, timeout, secret or presignPut throws ConfigError naming it, never echoing the URL", () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [
        () => webhookCheckpointSink({ url: "hooks.example.com/x?token=abc" }),
        /webhook checkpoint sink options: url: expected an http\(s\) URL/,
      ],
      [() => webhookCheckpointSink({ url: "ftp://example.com/x" }), /url: expected an http\(s\) URL/],
      [() => webhookCheckpointSink({ url: "https://bot:p4ss@example.com/x" }), /url: expected no user:password/],
      [() => webhookCheckpointSink({ url: "https://example.com/x", retries: -1 }), /retries: expected an integer 0\.\.20/],
      [() => webhookCheckpointSink({ url: "https://example.com/x", timeoutMs: 0 }), /timeoutMs: expected an integer/],
      [() => webhookCheckpointSink({ url: "https://example.com/x", secret: "" }), /secret: expected a non-empty string/],
      [() => objectStorageCheckpointSink({ presignPut: "https://bucket/x" as never }), /presignPut: expected a function/],
      [() => objectStorageCheckpointSink({ presignPut: () => "https://bucket/x", retries: 1.5 }), /retries: expected an integer/],
    ];
    for (const [make, message] of cases) {
      const err = (() => {
        try {
          make();
          return null;
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err?.message).toMatch(message);
      expect(err?.message).not.toMatch(/token=abc|p4ss|bucket/);
    }
  });
});
