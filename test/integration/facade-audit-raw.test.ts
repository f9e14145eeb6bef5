// Audit records leave the facade as they were recorded: the money rounding of JSON answers (cents, 4-decimal hourly
// prices) does not reach an entry's before/after, so an export still verifies and a diff shows what was stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import { verifyExport, type AuditExport } from "../../src-shared/audit/chain.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let t: TestFacade;
let a: SignedUp;
const after = { oldPriceUsdPerHour: 0.123456789, monthlyCostUsd: 100.47600000000003, savings: 2e19 };

beforeAll(async () => {
  t = await startTestFacade();
  a = await t.signup("Raw Corp");
  await createAuditChainStore({ client: t.client }).record({
    namespace: a.namespace,
    actor: "system:test",
    event: "price.check",
    resource: "nodepool/raw",
    outcome: "success",
    after,
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe("audit records in JSON answers", () => {
  it("export as recorded: the answer and its file verify", async () => {
    const res = await t.call("GET", "/audit/export", { token: a.accessToken });
    expect(res.status).toBe(200);
    const entry = res.body.entries.find((e: { event: string }) => e.event === "price.check");
    expect(entry.after).toEqual(after);
    expect(verifyExport(res.body).ok).toBe(true);
    const file = await fetch(res.body.file_url);
    expect(verifyExport((await file.json()) as AuditExport).ok).toBe(true);
  });

  it("diff and list show the stored values", async () => {
    const list = await t.call("GET", "/audit", { token: a.accessToken });
    const entry = list.body.logs.find((e: { event: string }) => e.event === "price.check");
    const diff = await t.call("GET", `/audit/${entry.id}/diff`, { token: a.accessToken });
    expect(diff.status).toBe(200);
    expect(diff.body.after).toEqual(after);
  });
});
