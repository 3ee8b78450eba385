import { redactString } from "@ops/audit";
const units: Record<string, string> = {
  bearer: "Bearer ",
  at: "a@",
  atb: "a@b.",
  digits: "1",
  digsp: "1 ",
  b64: "aGVsbG8gd29ybGQ+/=",
  eyj: "eyJ-",
  mixed: "Bearer a@b. 4111 eyJx.",
  colon: "://:",
  tok: "token ",
  basic: "Basic\t",
  param: "?a=",
  abc: "abcdefgh",
};
for (const [name, u] of Object.entries(units)) {
  const s = u.repeat(Math.ceil((1 << 20) / u.length)).slice(0, 1 << 20);
  for (const emails of [false, true]) {
    const opts = { maskEmails: emails, maxStringLength: 1 << 20 };
    redactString(s, opts);
    const t: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      redactString(s, opts);
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    console.log(name.padEnd(8), emails, t[3]!.toFixed(1), "ms", "min", t[0]!.toFixed(1));
  }
}
