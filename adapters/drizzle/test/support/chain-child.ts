/**
 * One of the writer processes of the multi-process chain test:
 *   tsx --conditions=@ops/source chain-child.ts <pgUrl> <schema> <tenant> <count> <worker>
 * Appends `count` audit entries to one tenant's chain through @ops/audit's buffered group commit
 * over the Drizzle AuditStore, then prints its stats as JSON.
 */
import { createAuditLog } from "@ops/audit";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { drizzleStores } from "../../src/index.js";

const [pgUrl, schema, tenant, countArg, worker] = process.argv.slice(2);
if (!pgUrl || !schema || !tenant || !countArg || !worker) throw new Error("usage: chain-child <pgUrl> <schema> <tenant> <count> <worker>");
const count = Number(countArg);

const pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
const stores = drizzleStores(drizzle(pool), { schema });
// Four processes race for one chain: a loser re-reads the head and re-chains, as often as it takes.
const log = createAuditLog({ store: stores.audit, env: "test", maxAttempts: 100_000 });

// Waves of concurrent awaited appends: group commit turns each wave into a few multi-row INSERTs.
const WAVE = 250;
for (let done = 0; done < count; done += WAVE) {
  const n = Math.min(WAVE, count - done);
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      log.append({
        action: "DATA_ACCESS",
        tenantId: tenant,
        actor: { id: `worker-${worker}`, type: "service" },
        target: { id: `doc-${done + i}`, type: "document" },
        meta: { worker: Number(worker), n: done + i },
      }),
    ),
  );
}
await log.close();
process.stdout.write(`${JSON.stringify({ worker: Number(worker), ...log.stats() })}\n`);
await pool.end();
