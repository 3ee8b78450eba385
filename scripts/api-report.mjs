// API reports: one `api/<name>.api.md` per publishable package (packages/* and adapters/*, found
// automatically), listing every export of every entry point in its `exports` map with its
// declaration (bodies, comments and private members left out, printed by TypeScript so that
// formatting does not matter). A change to a public API shows up as a diff of this file in review.
//
//   node scripts/api-report.mjs            check: fails when a report is missing or out of date
//   node scripts/api-report.mjs --update   (re)writes the reports
//   ... [--only @ops/x,@ops/y]
//
// Entry points are read from the "@ops/source" condition of each `exports` entry, so no build is
// needed. An equivalent of api-extractor's report, without its single-entry-point limit.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const update = process.argv.includes("--update");
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1].split(",")) : null;

const packages = [];
for (const dir of ["packages", "adapters"]) {
  if (!existsSync(join(root, dir))) continue;
  for (const name of readdirSync(join(root, dir)).sort()) {
    const base = join(root, dir, name);
    if (!existsSync(join(base, "package.json"))) continue;
    const pkg = JSON.parse(readFileSync(join(base, "package.json"), "utf8"));
    if (pkg.private || (only && !only.has(pkg.name))) continue;
    const entries = [];
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const src = typeof target === "object" && target ? target["@ops/source"] : undefined;
      if (typeof src === "string")
        entries.push({ specifier: sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`, file: join(base, src) });
    }
    packages.push({ base, name: pkg.name, short: basename(base), entries });
  }
}

const config = ts.getParsedCommandLineOfConfigFile(
  join(root, "tsconfig.base.json"),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
const options = { ...(config?.options ?? {}), noEmit: true, skipLibCheck: true, customConditions: ["@ops/source"] };
const program = ts.createProgram(
  packages.flatMap((p) => p.entries.map((e) => e.file)),
  options,
);
const checker = program.getTypeChecker();
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
const f = ts.factory;

const isPrivate = (m) =>
  (ts.canHaveModifiers(m) &&
    (ts.getModifiers(m) ?? []).some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) ||
  (m.name && ts.isPrivateIdentifier(m.name));
const keep = (mods) =>
  (mods ?? []).filter(
    (m) =>
      m.kind !== ts.SyntaxKind.ExportKeyword &&
      m.kind !== ts.SyntaxKind.DefaultKeyword &&
      m.kind !== ts.SyntaxKind.AsyncKeyword &&
      m.kind !== ts.SyntaxKind.DeclareKeyword,
  );

/** A declaration without bodies or initialisers, as text. */
function printDeclaration(decl, exportedName) {
  const sf = decl.getSourceFile();
  const typeOf = (node) =>
    checker.typeToTypeNode(
      checker.getTypeAtLocation(node),
      undefined,
      ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.UseAliasDefinedOutsideCurrentScope,
    );
  let node;
  if (ts.isFunctionDeclaration(decl)) {
    const ret =
      decl.type ??
      checker.typeToTypeNode(checker.getSignatureFromDeclaration(decl).getReturnType(), undefined, ts.NodeBuilderFlags.NoTruncation);
    node = f.createFunctionDeclaration(
      keep(decl.modifiers),
      decl.asteriskToken,
      exportedName,
      decl.typeParameters,
      decl.parameters.map((p) =>
        f.updateParameterDeclaration(
          p,
          p.modifiers,
          p.dotDotDotToken,
          p.name,
          p.questionToken ?? (p.initializer ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined),
          p.type ?? typeOf(p),
          undefined,
        ),
      ),
      ret,
      undefined,
    );
  } else if (ts.isClassDeclaration(decl)) {
    const members = [];
    for (const m of decl.members) {
      if (isPrivate(m) || ts.isClassStaticBlockDeclaration(m) || ts.isSemicolonClassElement(m)) continue;
      if (ts.isMethodDeclaration(m))
        members.push(
          f.createMethodDeclaration(
            keep(m.modifiers),
            m.asteriskToken,
            m.name,
            m.questionToken,
            m.typeParameters,
            m.parameters.map((p) =>
              f.updateParameterDeclaration(
                p,
                undefined,
                p.dotDotDotToken,
                p.name,
                p.questionToken ?? (p.initializer ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined),
                p.type ?? typeOf(p),
                undefined,
              ),
            ),
            m.type ??
              checker.typeToTypeNode(checker.getSignatureFromDeclaration(m).getReturnType(), undefined, ts.NodeBuilderFlags.NoTruncation),
            undefined,
          ),
        );
      else if (ts.isConstructorDeclaration(m))
        members.push(
          f.createConstructorDeclaration(
            keep(m.modifiers),
            m.parameters.map((p) =>
              f.updateParameterDeclaration(
                p,
                keep(p.modifiers).filter((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword || x.kind === ts.SyntaxKind.PublicKeyword),
                p.dotDotDotToken,
                p.name,
                p.questionToken ?? (p.initializer ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined),
                p.type ?? typeOf(p),
                undefined,
              ),
            ),
            undefined,
          ),
        );
      else if (ts.isPropertyDeclaration(m))
        members.push(f.createPropertyDeclaration(keep(m.modifiers), m.name, m.questionToken, m.type ?? typeOf(m), undefined));
      else if (ts.isGetAccessorDeclaration(m))
        members.push(f.createGetAccessorDeclaration(keep(m.modifiers), m.name, [], m.type ?? typeOf(m), undefined));
      else if (ts.isSetAccessorDeclaration(m))
        members.push(f.createSetAccessorDeclaration(keep(m.modifiers), m.name, m.parameters, undefined));
      else if (ts.isIndexSignatureDeclaration(m)) members.push(m);
    }
    node = f.createClassDeclaration(keep(decl.modifiers), exportedName, decl.typeParameters, decl.heritageClauses, members);
  } else if (ts.isVariableDeclaration(decl)) {
    const type = decl.type ?? typeOf(decl);
    const flags =
      decl.parent && ts.isVariableDeclarationList(decl.parent)
        ? decl.parent.flags & (ts.NodeFlags.Const | ts.NodeFlags.Let)
        : ts.NodeFlags.Const;
    node = f.createVariableStatement(
      undefined,
      f.createVariableDeclarationList([f.createVariableDeclaration(exportedName, undefined, type, undefined)], flags || ts.NodeFlags.Const),
    );
  } else if (ts.isInterfaceDeclaration(decl)) {
    node = f.updateInterfaceDeclaration(
      decl,
      keep(decl.modifiers),
      f.createIdentifier(exportedName),
      decl.typeParameters,
      decl.heritageClauses,
      decl.members,
    );
  } else if (ts.isTypeAliasDeclaration(decl)) {
    node = f.updateTypeAliasDeclaration(decl, keep(decl.modifiers), f.createIdentifier(exportedName), decl.typeParameters, decl.type);
  } else if (ts.isEnumDeclaration(decl)) {
    node = f.updateEnumDeclaration(decl, keep(decl.modifiers), f.createIdentifier(exportedName), decl.members);
  } else if (ts.isModuleDeclaration(decl)) {
    return `namespace ${exportedName} { ... }`;
  } else {
    return `${ts.SyntaxKind[decl.kind]} ${exportedName}`;
  }
  return printer.printNode(ts.EmitHint.Unspecified, node, sf).trim();
}

function report(pkg) {
  const out = [
    `## API report for "${pkg.name}"`,
    "",
    "> Generated by `scripts/api-report.mjs` (`pnpm api:update`); checked in CI by `pnpm api:check`.",
    "> Do not edit by hand. A change here is a change to the package's public API: give it a changeset.",
    "",
  ];
  for (const entry of pkg.entries) {
    const sf = program.getSourceFile(entry.file);
    if (!sf) throw new Error(`${pkg.name}: entry ${relative(root, entry.file)} not found`);
    const mod = checker.getSymbolAtLocation(sf);
    const exports = mod ? checker.getExportsOfModule(mod) : [];
    out.push(`### \`${entry.specifier}\``, "", "```ts");
    for (const sym of [...exports].sort((a, b) => a.getName().localeCompare(b.getName()))) {
      const name = sym.getName();
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const decls = target.getDeclarations() ?? [];
      if (decls.length === 0) {
        out.push(`export ${name}; // (no declaration found)`);
        continue;
      }
      for (const decl of decls) out.push(`export ${printDeclaration(decl, name)}`.replace(/\n/g, "\n"));
    }
    out.push("```", "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

const stale = [];
for (const pkg of packages) {
  const file = join(pkg.base, "api", `${pkg.short}.api.md`);
  const text = report(pkg);
  const current = existsSync(file) ? readFileSync(file, "utf8") : null;
  if (current === text) continue;
  if (update) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`api report written: ${relative(root, file)}`);
  } else stale.push(`${pkg.name}: ${relative(root, file)} is ${current === null ? "missing" : "out of date"}`);
}
if (stale.length) {
  console.error(
    `${stale.join("\n")}\nThe public API changed: run \`pnpm api:update\`, review the diff of api/*.api.md, and add a changeset.`,
  );
  process.exit(1);
}
console.log(`api reports: ${packages.length} packages ${update ? "up to date (written where changed)" : "match their exports"}`);
