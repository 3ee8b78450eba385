import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";

it("the README's opening example runs as written", async () => {
  const readme = await readFile(join(import.meta.dirname, "..", "README.md"), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toContain("makeAuditEntry");
  const file = join(import.meta.dirname, `.readme-example-${process.pid}.ts`);
  await writeFile(file, `${code}\nexport { result, auditStore };\n`);
  try {
    const mod = (await import(file)) as {
      result: { ok: boolean; checked: number };
      auditStore: { query: (q: object) => Promise<{ items: { meta: Record<string, unknown> }[] }> };
    };
    expect(mod.result).toMatchObject({ ok: true, checked: 1 });
    const [entry] = (await mod.auditStore.query({})).items;
    expect(entry!.meta).toEqual({ reason: "patient_chart_view", ip: "10.0.0.8", password: "[REDACTED]" });
  } finally {
    await rm(file, { force: true });
  }
});
