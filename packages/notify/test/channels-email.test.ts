import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryError, emailChannel, type AdminNotification } from "../src/index.js";
import { startSmtp } from "./helpers/smtp.js";

const n: AdminNotification = {
  id: "ntf_mail_1",
  subject: "Suspicious admin login",
  body: "Admin <root> logged in from a new country & device",
  severity: "critical",
  type: "SUSPICIOUS_ADMIN_LOGIN",
  tenantId: "acme",
  createdAt: "2030-01-01T00:00:00.000Z",
};
const PASS = "sm7p-P4ssw0rd!";

let smtp: Awaited<ReturnType<typeof startSmtp>>;
beforeAll(async () => {
  smtp = await startSmtp({ user: "mailer", pass: PASS, rejectRecipient: "nobody@example.com" });
});
afterAll(() => smtp.close());

const channel = (over: { to?: string; pass?: string } = {}) =>
  emailChannel({
    to: over.to ?? "ops@example.com",
    from: "Shop Ops <alerts@example.com>",
    smtp: { host: "127.0.0.1", port: smtp.port, user: "mailer", pass: over.pass ?? PASS },
    appName: "shop",
    timeoutMs: 5000,
  });

async function deliveryError(p: Promise<unknown>): Promise<DeliveryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

describe("email over SMTP (real smtp-server)", () => {
  it("delivers a text + HTML message to the admin address", async () => {
    const ch = channel();
    await ch.send(n);
    await ch.close?.();
    const mail = smtp.mails.at(-1)!;
    expect(mail.from).toBe("alerts@example.com");
    expect(mail.to).toEqual(["ops@example.com"]);
    expect(mail.raw).toContain("Subject: [shop] [CRITICAL] Suspicious admin login");
    expect(mail.raw).toContain("multipart/alternative");
    expect(mail.raw).toContain("Content-Type: text/plain");
    expect(mail.raw).toContain("Content-Type: text/html");
    expect(mail.raw).toMatch(/X-Ops-Notification-Id: ntf_mail_1/i);
    // HTML is escaped: the body's markup cannot inject into the admin's mail client.
    expect(mail.raw).toContain("&#60;root&#62;");
    expect(mail.raw).toContain("Tenant: acme");
  });

  it("a rejected recipient (550) is permanent", async () => {
    const ch = channel({ to: "nobody@example.com" });
    const e = await deliveryError(ch.send(n));
    await ch.close?.();
    expect(e.kind).toBe("permanent");
    expect(e.status).toBe(550);
  });

  it("refused credentials are permanent and the error holds no password (plain or base64)", async () => {
    const wrong = "wr0ng-Secret-PW";
    const ch = channel({ pass: wrong });
    const e = await deliveryError(ch.send(n));
    await ch.close?.();
    expect(e.kind).toBe("permanent");
    const all = `${e.message} ${JSON.stringify(e)} ${String(e.stack)}`;
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(Buffer.from(`\u0000mailer\u0000${wrong}`).toString("base64"));
    expect(all).not.toContain(Buffer.from(wrong).toString("base64"));
  });

  it("a server that is down is a temporary failure", async () => {
    const down = await startSmtp({ user: "u", pass: "p" });
    await down.close();
    const ch = emailChannel({
      to: "ops@example.com",
      from: "a@example.com",
      smtp: { host: "127.0.0.1", port: down.port },
      timeoutMs: 2000,
    });
    const e = await deliveryError(ch.send(n));
    expect(e.kind).toBe("temporary");
  });
});
