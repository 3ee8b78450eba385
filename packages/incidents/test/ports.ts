// Small real implementations of the core ports, for tests: a FlagWriter over a Map, an AuditSink
// and a Notifier collecting what they receive. They implement the port contracts fully; they are
// not stand-ins for @ops/flags, @ops/audit or @ops/notify.
import type { AdminNotification, AuditSink, AuditSinkEntry, FlagWriter, JsonValue, Notifier, TenantKey } from "@ops/core";

export class MapFlagWriter implements FlagWriter {
  readonly values = new Map<string, JsonValue>();
  readonly changes: Array<{ key: string; tenantId: TenantKey; value: JsonValue | undefined; actor: string; reason: string }> = [];
  failOn: string | undefined;

  private k(key: string, tenantId: TenantKey | undefined): string {
    return `${tenantId ?? "*"}|${key}`;
  }

  async getValue(i: { key: string; tenantId?: TenantKey }): Promise<JsonValue | undefined> {
    return this.values.get(this.k(i.key, i.tenantId));
  }

  async setValue(i: { key: string; value: JsonValue; tenantId?: TenantKey; actor: string; reason: string }) {
    if (this.failOn === i.key) throw new Error(`flag store refused ${i.key}`);
    const previous = this.values.get(this.k(i.key, i.tenantId));
    this.values.set(this.k(i.key, i.tenantId), i.value);
    this.changes.push({ key: i.key, tenantId: i.tenantId ?? null, value: i.value, actor: i.actor, reason: i.reason });
    return { previous };
  }

  async clearValue(i: { key: string; tenantId?: TenantKey; actor: string; reason: string }) {
    this.values.delete(this.k(i.key, i.tenantId));
    this.changes.push({ key: i.key, tenantId: i.tenantId ?? null, value: undefined, actor: i.actor, reason: i.reason });
  }

  get(key: string, tenantId: TenantKey = null): JsonValue | undefined {
    return this.values.get(this.k(key, tenantId));
  }
}

export class CollectingAuditSink implements AuditSink {
  readonly entries: AuditSinkEntry[] = [];
  async record(entry: AuditSinkEntry): Promise<void> {
    this.entries.push(structuredClone(entry));
  }
  actions(targetId?: string): string[] {
    return this.entries.filter((e) => !targetId || e.target?.id === targetId).map((e) => e.action);
  }
}

export class CollectingNotifier implements Notifier {
  readonly sent: AdminNotification[] = [];
  failNext = 0;
  async notify(n: AdminNotification): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("channel down");
    }
    this.sent.push(structuredClone(n));
  }
}
