import {
  checkEffects,
  checkIsoTime,
  ValidationError,
  type EffectKind,
  type EffectRecord,
  type EffectStore,
  type PendingEffect,
} from "@ops/core";
import { MemoryStoreBase, tick } from "./base.js";

/**
 * In-process `EffectStore`: the pending side effects that `MemoryFlagStore` and
 * `MemoryIncidentStore` write in the same synchronous step as the record they change.
 */
export class MemoryEffectStore extends MemoryStoreBase implements EffectStore {
  private readonly items = new Map<string, EffectRecord>();

  /**
   * @internal Stores effects; the caller has checked them (`checkEffects`) and calls this with no
   * await between its own write and this one, so both happen or neither does.
   */
  addNow(effects: readonly PendingEffect[] | undefined): void {
    for (const e of effects ?? [])
      if (!this.items.has(e.id)) this.items.set(e.id, { ...this.copy(e), attempts: 0, leaseUntil: null, lastError: null });
  }

  /** @internal For the writers: validates effects before anything is written. */
  check(effects: readonly PendingEffect[] | undefined): void {
    checkEffects("adapter-memory", effects);
    for (const [i, e] of (effects ?? []).entries())
      if (this.items.has(e.id))
        throw new ValidationError(`[ops/adapter-memory] invalid effects[${i}].id: already pending`, [
          { path: `effects[${i}].id`, message: "already pending" },
        ]);
  }

  async claim(input: {
    limit: number;
    leaseMs: number;
    now: string;
    ids?: readonly string[];
    kinds?: readonly EffectKind[];
  }): Promise<EffectRecord[]> {
    this.assertOpen();
    if (!Number.isSafeInteger(input.limit) || input.limit < 1 || input.limit > 1000)
      throw new ValidationError("[ops/adapter-memory] invalid limit: expected 1..1000", [{ path: "limit", message: "expected 1..1000" }]);
    if (!Number.isSafeInteger(input.leaseMs) || input.leaseMs < 1)
      throw new ValidationError("[ops/adapter-memory] invalid leaseMs: expected a positive integer", [
        { path: "leaseMs", message: "expected a positive integer" },
      ]);
    const now = Date.parse(checkIsoTime("adapter-memory", input.now, "now"));
    await tick();
    this.assertOpen();
    const wanted = input.ids ? new Set(input.ids) : null;
    const kinds = input.kinds ? new Set(input.kinds) : null;
    const due = [...this.items.values()]
      .filter(
        (e) =>
          (wanted === null || wanted.has(e.id)) &&
          (kinds === null || kinds.has(e.kind)) &&
          (e.leaseUntil === null || Date.parse(e.leaseUntil) <= now),
      )
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, input.limit);
    const until = new Date(now + input.leaseMs).toISOString();
    for (const e of due) {
      e.attempts += 1;
      e.leaseUntil = until;
    }
    return due.map((e) => this.copy(e));
  }

  async complete(input: { id: string }): Promise<void> {
    this.assertOpen();
    this.items.delete(input.id);
  }

  async fail(input: { id: string; error: string; retryAt: string }): Promise<void> {
    this.assertOpen();
    const e = this.items.get(input.id);
    if (!e) return;
    e.leaseUntil = checkIsoTime("adapter-memory", input.retryAt, "retryAt");
    e.lastError = String(input.error).slice(0, 2000);
  }

  async pending(): Promise<number> {
    this.assertOpen();
    return this.items.size;
  }
}
