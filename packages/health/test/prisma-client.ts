import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(pkgDir, ".prisma-test");

const SCHEMA = `generator client {
  provider            = "prisma-client"
  output              = "./client"
  moduleFormat        = "esm"
  importFileExtension = "ts"
}

datasource db {
  provider = "postgresql"
}

model HealthProbe {
  id Int @id
}
`;

/** A real Prisma 7 client (driver adapter over pg), generated offline on first use. */
export interface TestPrisma {
  $queryRawUnsafe(sql: string): Promise<unknown>;
  $queryRaw(sql: TemplateStringsArray): Promise<unknown>;
  $disconnect(): Promise<void>;
}

export async function createTestPrisma(connectionString: string): Promise<TestPrisma> {
  const clientPath = join(outDir, "client", "client.ts");
  withLock(() => generateOnce(clientPath));
  const { PrismaClient } = (await import(pathToFileURL(clientPath).href)) as { PrismaClient: new (o: unknown) => TestPrisma };
  const { PrismaPg } = await import("@prisma/adapter-pg");
  return new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
}

// Test files run in parallel processes: one generates, the others wait on a directory lock.
function withLock(fn: () => void): void {
  mkdirSync(outDir, { recursive: true });
  const lock = join(outDir, ".lock");
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function generateOnce(clientPath: string): void {
  if (!existsSync(clientPath)) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "schema.prisma"), SCHEMA);
    // prisma generate never runs the schema engine, but tries to download it unless this points at a file.
    const stub = join(outDir, "engine.stub");
    writeFileSync(stub, "");
    execFileSync(
      process.execPath,
      [join(pkgDir, "node_modules", "prisma", "build", "index.js"), "generate", "--schema", join(outDir, "schema.prisma")],
      {
        cwd: pkgDir,
        stdio: "pipe",
        env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: stub, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      },
    );
  }
}
