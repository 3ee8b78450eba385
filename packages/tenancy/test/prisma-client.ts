import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A model over the fixture's `ops_incidents` table (see pg-fixture.ts). */
const SCHEMA = `generator client {
  provider            = "prisma-client"
  output              = "./client"
  moduleFormat        = "esm"
  importFileExtension = "ts"
}

datasource db {
  provider = "postgresql"
}

model Incident {
  id       BigInt  @id @default(autoincrement())
  tenantId String? @map("tenant_id")
  body     String  @default("")

  @@map("ops_incidents")
}
`;

const outDir = join(dirname(fileURLToPath(import.meta.url)), "..", ".generated");

/**
 * Generates a real Prisma 7 client for SCHEMA into `.generated/` (once per schema change) and
 * returns its module. Offline: `prisma generate` only needs PRISMA_SCHEMA_ENGINE_BINARY to name an
 * existing file so that it does not try to download the engine it never runs.
 */
export async function loadGeneratedPrisma(): Promise<{ PrismaClient: new (opts: { adapter: unknown }) => unknown }> {
  const digest = createHash("sha256").update(SCHEMA).digest("hex");
  const clientFile = join(outDir, "client", "client.ts");
  const stamp = join(outDir, "stamp");
  mkdirSync(outDir, { recursive: true });
  const lock = join(outDir, ".lock");
  const until = Date.now() + 120_000;
  // Parallel test files: one generates, the others wait for the lock and then see the stamp.
  while (true) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > until) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    const fresh = existsSync(clientFile) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest;
    if (!fresh) {
      rmSync(join(outDir, "client"), { recursive: true, force: true });
      writeFileSync(join(outDir, "schema.prisma"), SCHEMA);
      writeFileSync(join(outDir, "engine.stub"), "");
      const cli = join(dirname(createRequire(import.meta.url).resolve("prisma/package.json")), "build", "index.js");
      execFileSync(process.execPath, [cli, "generate", "--schema", join(outDir, "schema.prisma")], {
        cwd: join(outDir, ".."),
        stdio: "pipe",
        env: {
          ...process.env,
          PRISMA_SCHEMA_ENGINE_BINARY: join(outDir, "engine.stub"),
          CHECKPOINT_DISABLE: "1",
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
        },
      });
      writeFileSync(stamp, digest);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return (await import(pathToFileURL(clientFile).href)) as { PrismaClient: new (opts: { adapter: unknown }) => unknown };
}
