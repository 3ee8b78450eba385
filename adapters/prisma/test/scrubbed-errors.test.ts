import { UnavailableError } from "@ops/core";
import { randomTenant, requireService, testPgUrl } from "@ops/testkit";
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaAuditStore } from "../src/index.js";
import { chainRecords } from "./helpers/chain.js";
import { createTestDatabase, loadPrismaClient, type TestDatabase } from "./helpers/db.js";

const up = await requireService("postgres");
const SECRET = "secret-meta-value-7f3a";

describe.skipIf(!up)("prisma: a cancelled 500-entry audit append is a short, scrubbed UnavailableError", () => {
  let db: TestDatabase;
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => void (db = await createTestDatabase("scrub")));
  afterAll(async () => {
    await close();
    await db?.drop();
  });

  it("SQLSTATE 57014, no parameter value in the message", async () => {
    const Client = await loadPrismaClient();
    const adapter = new PrismaPg(
      { connectionString: testPgUrl(), options: `-c search_path=${db.schema} -c statement_timeout=1`, max: 2 },
      { schema: db.schema },
    );
    const prisma = new Client({ adapter });
    close = () => prisma.$disconnect();
    const t = randomTenant();
    // roleCheck off: a 1 ms statement_timeout would cancel the start-up role check before the append.
    const records = chainRecords(t, null, 500, (i) => ({ meta: { secret: SECRET, pad: "x".repeat(2000), i } }));
    const err = (await new PrismaAuditStore(prisma, { roleCheck: false })
      .append({ tenantId: t, records })
      .catch((e: unknown) => e)) as UnavailableError;
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/^\[ops\/adapter-prisma\] audit\.append \S+ seq 1\.\.500: .*\(57014: statement timeout\)$/);
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain(records[0]!.id);
  });
});
