import {
  maskAuthSchemes,
  maskCards,
  maskEmails,
  maskJwts,
  maskProviderKeys,
  maskSecretParams,
  maskUrlPasswords,
} from "../packages/audit/src/redact-scan.ts";
const units: Record<string, string> = {
  bearer: "Bearer ",
  at: "a@",
  atb: "a@b.",
  digits: "1",
  digsp: "1 ",
  b64: "aGVsbG8gd29ybGQ+/=",
  mixed: "Bearer a@b. 4111 eyJx.",
  colon: "://:",
  tok: "token ",
  basic: "Basic\t",
  param: "?a=",
};
const fns: Record<string, (s: string) => string> = {
  jwt: (s) => maskJwts(s, "X"),
  auth: (s) => maskAuthSchemes(s, "X"),
  prov: (s) => maskProviderKeys(s, "X"),
  url: (s) => maskUrlPasswords(s, "X"),
  param: (s) => maskSecretParams(s, "X", (n) => n === "password"),
  card: (s) => maskCards(s, "X"),
  email: (s) => maskEmails(s, "X"),
  suspect: (s) => String(/eyJ|bearer|basic|token|[spr]k_|gh[pousr]_|AKIA|xox|\d(?:[ -]?\d){12}|:\/\/|[\w\]-]=[^&#;\s]/i.test(s)),
  auth_hint: (s) => String(/bearer|basic|token/i.test(s)),
};
for (const [name, u] of Object.entries(units)) {
  const s = u.repeat(Math.ceil((1 << 20) / u.length)).slice(0, 1 << 20);
  const row: string[] = [];
  for (const [fn, f] of Object.entries(fns)) {
    f(s);
    const t: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      f(s);
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    row.push(`${fn}=${t[2]!.toFixed(1)}`);
  }
  console.log(name.padEnd(8), row.join(" "));
}
