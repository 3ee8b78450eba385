import { defineConfig } from "drizzle-kit";

// `pnpm drizzle-kit generate` regenerates migrations/ from src/schema.ts (works offline).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema.ts",
  out: "./migrations",
});
