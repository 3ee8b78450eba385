import type { CryptoKeyLike } from "./crypto-key.js";
import type { JsonValue } from "@ops/core";
import type { EvaluationContext, EvaluationDetails } from "../types.js";
import { compileClientFlag, resolveClientFlag, type CompiledClientFlag } from "./evaluate.js";
import type { ClientPayload, SignedClientPayload } from "./payload.js";
import { importPublicKey, verifyClientPayload, type VerifyOptions } from "./verify.js";

export interface FlagsClientOptions {
  /** The server's Ed25519 public key (base64url raw) or a CryptoKeyLike. Every payload is checked. */
  publicKey: string | CryptoKeyLike;
  /** The URL of the server's `createClientFlagsHandler` (for `refresh`, `startPolling`, `stream`). */
  url?: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Sent with every request (credentials are the app's business: cookies, a bearer token). */
  headers?: Record<string, string>;
  /** See `verifyClientPayload`. */
  expectSubject?: VerifyOptions["expectSubject"];
  /** Told about refused payloads and failed requests; the client keeps serving what it had. */
  onError?: (error: unknown) => void;
}

const NOT_LOADED = (key: string): EvaluationDetails =>
  Object.freeze({
    flagKey: key,
    value: null,
    variant: null,
    reason: "ERROR",
    ruleId: null,
    errorCode: "PROVIDER_NOT_READY",
    errorMessage: "no payload loaded yet",
  });

/**
 * Evaluates flags in a browser or an edge runtime from a payload the server built and signed for
 * this user. Synchronous reads, no Node APIs; updates by polling (ETag) or streaming (SSE).
 */
export class FlagsClient {
  private payload: ClientPayload | null = null;
  private compiled = new Map<string, CompiledClientFlag>();
  private etag: string | null = null;
  private key: Promise<CryptoKeyLike> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private streamAbort: AbortController | null = null;
  private readonly listeners = new Set<(keys: readonly string[]) => void>();
  private clientAttrs = new Set<string>();

  constructor(private readonly options: FlagsClientOptions) {}

  /** Verifies and installs a signed payload (from the page's HTML, a cache, or the wire). @throws PayloadError */
  async load(signed: SignedClientPayload | string): Promise<ClientPayload> {
    this.key ??= importPublicKey(this.options.publicKey);
    const verify: VerifyOptions = this.options.expectSubject ? { expectSubject: this.options.expectSubject } : {};
    const payload = await verifyClientPayload(signed, await this.key, verify);
    const next = new Map<string, CompiledClientFlag>();
    for (const [k, f] of Object.entries(payload.flags)) next.set(k, compileClientFlag(k, f));
    this.payload = payload;
    this.compiled = next;
    this.clientAttrs = new Set(payload.clientAttributes);
    for (const l of [...this.listeners]) {
      try {
        l([...next.keys()]);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
    return payload;
  }

  /** The installed payload (verified), or null. */
  get current(): ClientPayload | null {
    return this.payload;
  }

  /**
   * Synchronous evaluation; `attributes` may set only the payload's client attributes (others are
   * fixed by the server for this user and ignored). Never throws. `defaultValue` is the caller's
   * default: a disabled flag without `offValue` / `offVariant` resolves to it (reason DISABLED).
   */
  evaluate(key: string, attributes?: Record<string, unknown>, defaultValue?: JsonValue): EvaluationDetails {
    const f = this.compiled.get(key);
    if (f === undefined)
      return this.payload === null
        ? NOT_LOADED(key)
        : Object.freeze({
            flagKey: key,
            value: null,
            variant: null,
            reason: "ERROR",
            ruleId: null,
            errorCode: "FLAG_NOT_FOUND",
            errorMessage: `flag "${key}" is not in the payload`,
          });
    let ctx = this.payload!.context as EvaluationContext;
    if (attributes !== undefined) {
      ctx = { ...ctx };
      for (const a in attributes) if (this.clientAttrs.has(a)) ctx[a] = attributes[a];
    }
    try {
      const d = resolveClientFlag(f, ctx);
      if (!f.callerDefault || defaultValue === undefined) return d;
      if (d.reason === "DISABLED")
        return Object.freeze({
          flagKey: key,
          value: defaultValue,
          variant: null,
          reason: "DISABLED",
          ruleId: null,
          errorCode: null,
          errorMessage: null,
        });
      // A failed prerequisite serves the off value: the caller's default when the flag has none.
      if (d.reason === "PREREQUISITE_FAILED")
        return Object.freeze({
          flagKey: key,
          value: defaultValue,
          variant: null,
          reason: "PREREQUISITE_FAILED",
          ruleId: null,
          errorCode: null,
          errorMessage: null,
          ...(d.prerequisiteKey !== undefined ? { prerequisiteKey: d.prerequisiteKey } : {}),
        });
      return d;
    } catch (err) {
      return Object.freeze({
        flagKey: key,
        value: f.fallback.value,
        variant: null,
        reason: "ERROR",
        ruleId: null,
        errorCode: "GENERAL",
        errorMessage: String(err),
      });
    }
  }

  isEnabled(key: string, attributes?: Record<string, unknown>, fallback?: boolean): boolean {
    const v = this.evaluate(key, attributes, fallback).value;
    return typeof v === "boolean" ? v : (fallback ?? false);
  }

  stringValue(key: string, attributes?: Record<string, unknown>, fallback?: string): string {
    const v = this.evaluate(key, attributes, fallback).value;
    return typeof v === "string" ? v : (fallback ?? "");
  }

  numberValue(key: string, attributes?: Record<string, unknown>, fallback?: number): number {
    const v = this.evaluate(key, attributes, fallback).value;
    return typeof v === "number" ? v : (fallback ?? 0);
  }

  jsonValue(key: string, attributes?: Record<string, unknown>, fallback?: JsonValue): JsonValue {
    const d = this.evaluate(key, attributes, fallback);
    return d.reason === "ERROR" ? (fallback ?? null) : d.value;
  }

  /** Called with the flag keys after each installed payload. Returns an unsubscribe function. */
  watch(listener: (keys: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private fetcher(): typeof fetch {
    return this.options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private url(): string {
    if (!this.options.url) throw new Error("[ops/flags/client] url: expected the URL of the server's flags handler");
    return this.options.url;
  }

  /**
   * Fetches the payload once, with `If-None-Match`: true when a new payload was installed.
   * @throws on a network error, a non-2xx/304 answer, or a refused payload (PayloadError)
   */
  async refresh(): Promise<boolean> {
    const headers: Record<string, string> = { accept: "application/json", ...this.options.headers };
    if (this.etag) headers["if-none-match"] = this.etag;
    const res = await this.fetcher()(this.url(), { headers });
    if (res.status === 304) return false;
    if (!res.ok) throw new Error(`[ops/flags/client] flags request failed with HTTP ${res.status}`);
    const text = await res.text();
    await this.load(text);
    this.etag = res.headers.get("etag");
    return true;
  }

  /** Polls every `intervalMs` (default 30 s); errors go to `onError`. */
  startPolling(intervalMs = 30_000): void {
    this.stopPolling();
    this.pollTimer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.options.onError?.(err));
    }, intervalMs);
  }

  stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /**
   * Opens the server-sent-events stream (over fetch, so headers work) and installs every payload
   * it sends. Resolves when the stream ends (server closed, `close()`, or an error, reported to
   * `onError`); reconnecting is the caller's choice.
   */
  async stream(): Promise<void> {
    this.streamAbort?.abort();
    const abort = new AbortController();
    this.streamAbort = abort;
    try {
      const res = await this.fetcher()(this.url(), {
        headers: { accept: "text/event-stream", ...this.options.headers },
        signal: abort.signal,
      });
      if (!res.ok || !res.body) throw new Error(`[ops/flags/client] flags stream failed with HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = "message";
          let id: string | null = null;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            else if (line.startsWith("id:")) id = line.slice(3).trim();
          }
          if (event !== "flags" || data.length === 0) continue;
          try {
            await this.load(data.join("\n"));
            if (id) this.etag = id;
          } catch (err) {
            this.options.onError?.(err);
          }
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) this.options.onError?.(err);
    } finally {
      if (this.streamAbort === abort) this.streamAbort = null;
    }
  }

  /** Stops polling and streaming. */
  close(): void {
    this.stopPolling();
    this.streamAbort?.abort();
    this.streamAbort = null;
  }
}
