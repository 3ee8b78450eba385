import { ValidationError, type SubjectKey, type SubjectKeyStore, type TenantKey } from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { iso, tenantIs } from "../values.js";

interface KeyRow {
  key_id: string;
  tenant_id: string | null;
  subject_id: string;
  key: string;
  created_at: Date;
}

const COLUMNS = `key_id, tenant_id, subject_id, encode(key, 'base64') AS key, created_at`;

function toKey(row: KeyRow): SubjectKey {
  return {
    keyId: row.key_id,
    tenantId: row.tenant_id,
    subjectId: row.subject_id,
    key: new Uint8Array(Buffer.from(row.key, "base64")),
    createdAt: iso(row.created_at),
  };
}

/**
 * `SubjectKeyStore` on `ops_audit_subject_keys` (crypto-shredding). One live key per subject by
 * the unique (tenant_id, subject_id) key; `destroy` really deletes the rows.
 */
export class PrismaSubjectKeyStore extends PrismaStoreBase implements SubjectKeyStore {
  /** @throws ValidationError when the candidate lacks keyId, subjectId or 32 key bytes. */
  async getOrCreate(input: { candidate: SubjectKey }): Promise<SubjectKey> {
    const c = input?.candidate;
    if (!c || typeof c.keyId !== "string" || c.keyId === "" || typeof c.subjectId !== "string" || c.subjectId === "")
      throw new ValidationError(`[ops/${PKG}] invalid candidate: expected keyId and subjectId`, [
        { path: "candidate", message: "expected keyId and subjectId" },
      ]);
    if (!(c.key instanceof Uint8Array) || c.key.length !== 32)
      throw new ValidationError(`[ops/${PKG}] invalid candidate.key: expected 32 bytes`, [
        { path: "candidate.key", message: "expected 32 bytes" },
      ]);
    return this.run("auditKeys.getOrCreate", async () => {
      // Racing creators: one INSERT wins, the others do nothing and read the winner's key.
      const rows = await this.select<KeyRow>(
        `INSERT INTO ops_audit_subject_keys (key_id, tenant_id, subject_id, key, created_at)
         VALUES ($1, $2, $3, decode($4, 'base64'), $5::timestamptz)
         ON CONFLICT DO NOTHING
         RETURNING ${COLUMNS}`,
        [c.keyId, c.tenantId, c.subjectId, Buffer.from(c.key).toString("base64"), c.createdAt],
      );
      if (rows[0]) return toKey(rows[0]);
      const existing = await this.select<KeyRow>(
        `SELECT ${COLUMNS} FROM ops_audit_subject_keys WHERE ${tenantIs(c.tenantId, "$1")} AND subject_id = $2`,
        [c.tenantId, c.subjectId],
      );
      if (existing[0]) return toKey(existing[0]);
      throw new ValidationError(`[ops/${PKG}] invalid candidate.keyId: ${c.keyId} is already used by another subject`, [
        { path: "candidate.keyId", message: "expected a key id not used by another subject" },
      ]);
    });
  }

  async get(input: { tenantId: TenantKey; keyId: string }): Promise<SubjectKey | null> {
    return this.run("auditKeys.get", async () => {
      const rows = await this.select<KeyRow>(
        `SELECT ${COLUMNS} FROM ops_audit_subject_keys WHERE ${tenantIs(input.tenantId, "$1")} AND key_id = $2`,
        [input.tenantId, input.keyId],
      );
      return rows[0] ? toKey(rows[0]) : null;
    });
  }

  async destroy(input: { tenantId: TenantKey; subjectId: string }): Promise<number> {
    return this.run("auditKeys.destroy", () =>
      this.exec(`DELETE FROM ops_audit_subject_keys WHERE ${tenantIs(input.tenantId, "$1")} AND subject_id = $2`, [
        input.tenantId,
        input.subjectId,
      ]),
    );
  }
}
