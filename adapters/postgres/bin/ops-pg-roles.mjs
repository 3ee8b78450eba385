#!/usr/bin/env node
// Prints the SQL that creates and grants the @ops PostgreSQL roles, for your DBA or `psql -f`:
//   npx ops-pg-roles --owner ops_owner --app ops_app --service ops_service [--schema public] [--no-create-roles]
// Idempotent: run it as the database admin before the migrations and again after each one.
import { opsRoleSetupSql } from "../dist/index.js";

const args = process.argv.slice(2);
const options = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--help" || a === "-h") {
    console.log("usage: ops-pg-roles [--owner NAME] [--app NAME] [--service NAME] [--schema NAME] [--no-create-roles]");
    process.exit(0);
  }
  if (a === "--no-create-roles") {
    options.createRoles = false;
    continue;
  }
  const m = /^--(owner|app|service|schema)(?:=(.*))?$/.exec(a);
  if (!m) {
    console.error(`ops-pg-roles: unknown argument ${a} (try --help)`);
    process.exit(2);
  }
  options[m[1]] = m[2] ?? args[++i];
}
if (!options.owner && !options.app && !options.service)
  Object.assign(options, { owner: "ops_owner", app: "ops_app", service: "ops_service" });
try {
  process.stdout.write(opsRoleSetupSql(options));
} catch (err) {
  console.error(`ops-pg-roles: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
