import { ConflictError, checkSubjectKeyCandidate, type SubjectKey, type SubjectKeyStore, type TenantKey } from "@ops/core";
import { sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import type { Row } from "../executor.js";
import { isoOut, num, str, tenantIs } from "../values.js";

// Key bytes travel as base64 text: drivers disagree on bytea (Buffer, Uint8Array, hex strings).
const COLUMNS = sql.join([sql.raw(`"key_id", "tenant_id", "subject_id", encode("key", 'base64') AS "key"`), isoOut("created_at")], sql`, `);

function toKey(r: Row): SubjectKey {
  return {
    keyId: str(r.key_id),
    tenantId: r.tenant_id === null ? null : str(r.tenant_id),
    subjectId: str(r.subject_id),
    key: new Uint8Array(Buffer.from(str(r.key), "base64")),
    createdAt: str(r.created_at),
  };
}

/**
 * `SubjectKeyStore` on PostgreSQL (`ops_audit_subject_keys`): one live key per subject, enforced
 * by a unique constraint; `destroy` is a real DELETE, so the key bytes leave the table.
 */
export class PgSubjectKeyStore extends PgStoreBase implements SubjectKeyStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "auditKeys" as const;
  async getOrCreate(input: { candidate: SubjectKey }): Promise<SubjectKey> {
    checkSubjectKeyCandidate(this.pkg, input?.candidate);
    return this.getOrCreateAttempt(input.candidate, 1);
  }

  private async getOrCreateAttempt(c: SubjectKey, attempt: number): Promise<SubjectKey> {
    const what = `auditKeys.getOrCreate ${c.tenantId ?? "(global)"}/${c.subjectId}`;
    const inserted = await this.q(
      what,
      sql`INSERT INTO ${this.t.auditSubjectKeys} ("key_id", "tenant_id", "subject_id", "key", "created_at")
          VALUES (${c.keyId}, ${c.tenantId}, ${c.subjectId}, decode(${Buffer.from(c.key).toString("base64")}, 'base64'), ${c.createdAt}::timestamptz)
          ON CONFLICT ON CONSTRAINT ops_audit_subject_keys_subject_key DO NOTHING
          RETURNING ${COLUMNS}`,
    );
    if (inserted[0]) return toKey(inserted[0]);
    // Lost the race (or a key existed): a new statement sees the winner's committed row.
    const rows = await this.q(
      what,
      sql`SELECT ${COLUMNS} FROM ${this.t.auditSubjectKeys} WHERE ${tenantIs(c.tenantId)} AND "subject_id" = ${c.subjectId}`,
    );
    if (rows[0]) return toKey(rows[0]);
    // Destroyed between the two statements: try again with the candidate (a bounded number of times).
    if (attempt >= 5) throw new ConflictError(`[ops/${this.pkg}] ${what}: the key keeps being destroyed concurrently, retry`);
    return this.getOrCreateAttempt(c, attempt + 1);
  }

  async get(input: { tenantId: TenantKey; keyId: string }): Promise<SubjectKey | null> {
    const rows = await this.q(
      `auditKeys.get ${input.keyId}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.auditSubjectKeys} WHERE "key_id" = ${input.keyId} AND ${tenantIs(input.tenantId)}`,
    );
    return rows[0] ? toKey(rows[0]) : null;
  }

  async destroy(input: { tenantId: TenantKey; subjectId: string }): Promise<number> {
    // Overwrite the key bytes, then DELETE, in one transaction, then a best-effort VACUUM of the key
    // table: under MVCC the UPDATE leaves the previous row version (with the key) as a dead tuple
    // until VACUUM reclaims it, so the VACUUM is what removes it from the table file (when no older
    // snapshot still needs it). WAL and backups written before still hold the key (see the README).
    const n = await this.tx(`auditKeys.destroy ${input.tenantId ?? "(global)"}`, async (tx) => {
      await this.q(
        "auditKeys.destroy (overwrite)",
        sql`UPDATE ${this.t.auditSubjectKeys} SET "key" = decode(repeat('00', octet_length("key")), 'hex') WHERE ${tenantIs(input.tenantId)} AND "subject_id" = ${input.subjectId}`,
        tx,
      );
      const rows = await this.q(
        "auditKeys.destroy (delete)",
        sql`WITH d AS (DELETE FROM ${this.t.auditSubjectKeys} WHERE ${tenantIs(input.tenantId)} AND "subject_id" = ${input.subjectId} RETURNING 1)
            SELECT count(*) AS "n" FROM d`,
        tx,
      );
      return num(rows[0]?.n);
    });
    if (n > 0) await this.q("auditKeys.destroy (vacuum)", sql`VACUUM ${this.t.auditSubjectKeys}`).catch(() => undefined);
    return n;
  }
}
