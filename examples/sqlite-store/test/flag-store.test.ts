import { describeFlagStoreConformance } from "@ops/testkit";
import initSqlJs from "sql.js";
import { SqliteFlagStore } from "../src/index.js";

// The worked example of docs/write-a-store-adapter.md: the whole FlagStore conformance suite,
// against a fresh SQLite database per case, with a raw reader that bypasses the store.
const SQL = await initSqlJs();

describeFlagStoreConformance({
  name: "sqlite (sql.js)",
  create: () => new SqliteFlagStore(new SQL.Database()),
  raw: (store) => ({
    read: async ({ env, key, tenantId }) => {
      const db = (store as unknown as { db: import("sql.js").Database }).db;
      const stmt = db.prepare("SELECT config, version, updated_by FROM ops_flags WHERE env = ? AND tenant = ? AND key = ?", [
        env,
        tenantId ?? "",
        key,
      ]);
      try {
        if (!stmt.step()) return null;
        const row = stmt.getAsObject();
        return { config: JSON.parse(String(row.config)), version: Number(row.version), updatedBy: String(row.updated_by) };
      } finally {
        stmt.free();
      }
    },
  }),
  cleanup: (store) => store.close(),
});
