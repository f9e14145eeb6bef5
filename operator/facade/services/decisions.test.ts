// Unit tests for the activity feed and the 30-day cost CSV built from audit entries.
import { describe, it, expect } from "vitest";
import { csvField } from "../../../src-shared/csv.js";
import {
  activityPage,
  costExportCsv,
  costExportFilename,
  COST_CSV_HEADER,
  COST_CSV_TOTAL_BASELINE,
  type AuditView,
} from "./decisions.js";

const now = new Date("2026-11-23T12:00:00Z");

function decision(
  id: string,
  timestamp: string,
  prices: [number, number],
  extra: Record<string, unknown> = {},
): AuditView {
  const [oldPrice, newPrice] = prices;
  return {
    id,
    timestamp,
    actor: "system:optimizer",
    event: "Switched node to Spot",
    resource: `node/${id}`,
    outcome: "success",
    after: {
      decision: "SWITCH",
      instanceId: `i-${id}`,
      instanceType: "t3.medium",
      zone: "us-east-1a",
      oldPriceUsdPerHour: oldPrice,
      newPriceUsdPerHour: newPrice,
      reason: "Cost savings",
      ...extra,
    },
  };
}

const userEdit: AuditView = {
  id: "u1",
  timestamp: "2026-11-22T09:00:00Z",
  actor: "alice@acme.com",
  event: "PATCH /policies/binpack",
  resource: "optimizationpolicy/prod",
  outcome: "success",
  after: { binpack: { aggressiveness: 70 } },
};

describe("costExportCsv", () => {
  it("lists the last 30 days of decisions newest first, with their prices' source and date, and a TOTAL of monthly = hourly × 730 naming its baseline", () => {
    const entries = [
      decision("a", "2026-11-20T10:30:00Z", [0.0416, 0.0312]),
      decision("b", "2026-11-22T08:00:00Z", [0.1, 0.04], {
        reason: "cheaper, same shape",
        priceSource: "spot-history",
        pricesAsOf: "2026-11-22T07:00:00Z",
      }),
      decision("old", "2026-10-01T00:00:00Z", [1, 0.5]),
      decision("future", "2026-11-24T00:00:00Z", [1, 0.5]),
      decision("noprice", "2026-11-21T00:00:00Z", [1, 0.5], { newPriceUsdPerHour: null }),
      userEdit,
    ];
    const lines = costExportCsv(entries, now).trimEnd().split("\r\n");
    expect(lines[0]).toBe(COST_CSV_HEADER);
    expect(lines[1]).toBe(
      '2026-11-22 08:00:00,i-b,t3.medium,us-east-1a,$0.1000,$0.0400,$0.0600,$43.80,SWITCH,"cheaper, same shape",spot-history,2026-11-22T07:00:00Z',
    );
    expect(lines[2]).toBe(
      "2026-11-20 10:30:00,i-a,t3.medium,us-east-1a,$0.0416,$0.0312,$0.0104,$7.59,SWITCH,Cost savings,,",
    );
    expect(lines[3]).toBe(`TOTAL,,,,,,,$51.39,,${csvField(COST_CSV_TOTAL_BASELINE)},,`);
    expect(lines).toHaveLength(4);
  });

  it("takes a sleep's own projected saving instead of hourly × 730, and leaves out one without that figure", () => {
    const sleep = { decision: "SLEEP", instanceId: "cluster/home", periodSavingsBaseline: "until the wake" };
    const entries = [
      decision("s", "2026-11-22T20:00:00Z", [0.5, 0], { ...sleep, periodSavingsUsd: 6 }),
      decision("w", "2026-11-23T08:00:00Z", [0, 0.5], { ...sleep, decision: "WAKE", periodSavingsUsd: 0 }),
      decision("nowake", "2026-11-21T20:00:00Z", [0.5, 0], sleep),
    ];
    const lines = costExportCsv(entries, now).trimEnd().split("\r\n");
    expect(lines.slice(1)).toEqual([
      // Their monthly cells are no hourly × 730: the reason says what they are.
      "2026-11-23 08:00:00,cluster/home,t3.medium,us-east-1a,$0.0000,$0.5000,-$0.5000,$0.00,WAKE,Cost savings; projected: until the wake,,",
      "2026-11-22 20:00:00,cluster/home,t3.medium,us-east-1a,$0.5000,$0.0000,$0.5000,$6.00,SLEEP,Cost savings; projected: until the wake,,",
      `TOTAL,,,,,,,$6.00,,${csvField(COST_CSV_TOTAL_BASELINE)},,`,
    ]);
  });

  it("is a header and a zero TOTAL when there were no decisions", () => {
    expect(costExportCsv([userEdit], now)).toBe(
      `${COST_CSV_HEADER}\r\nTOTAL,,,,,,,$0.00,,${csvField(COST_CSV_TOTAL_BASELINE)},,\r\n`,
    );
  });

  it("quotes and defuses cells", () => {
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("=SUM(A1)")).toBe("'=SUM(A1)");
    // A leading ' is itself guarded, so a spreadsheet (which hides one leading ') still shows the value as written.
    expect(csvField("'quoted")).toBe("''quoted");
    expect(costExportFilename(now)).toBe("cost_savings_export_2026-11-23.csv");
  });
});

describe("activityPage", () => {
  it("pages newest first with the total and hourly savings of decisions", () => {
    const entries = [
      decision("a", "2026-11-20T10:30:00Z", [0.0416, 0.0312]),
      userEdit,
      decision("b", "2026-11-22T08:00:00Z", [0.1, 0.04]),
    ];
    const page = activityPage(entries, { limit: 2, offset: 0 });
    expect(page.total).toBe(3);
    expect(page.events.map((e) => e.id)).toEqual(["u1", "b"]);
    expect(page.events[1]).toMatchObject({ savings: 0.06, status: "success", timestamp: "2026-11-22T08:00:00Z" });
    // A user's edit saves nothing it could be credited with: unknown, not 0.
    expect(page.events[0]).toMatchObject({
      savings: null,
      savings_reason: expect.stringContaining("not an optimisation decision"),
    });
    expect(activityPage(entries, { limit: 2, offset: 2 }).events.map((e) => e.id)).toEqual(["a"]);
  });
});

describe("figures that are no price", () => {
  it("leaves out decisions whose prices are negative, huge or not numbers, with the reason, and never totals Infinity", () => {
    const entries = [
      decision("big", "2026-11-22T10:00:00Z", [1e308, -1e308]),
      decision("neg", "2026-11-22T11:00:00Z", [0.1, -0.2]),
      decision("inf", "2026-11-22T12:00:00Z", [0.2, 0.1], {
        periodSavingsBaseline: "until the wake",
        periodSavingsUsd: 1e308,
      }),
      decision("ok", "2026-11-22T13:00:00Z", [0.1, 0.04]),
    ];
    const lines = costExportCsv(entries, now).trimEnd().split("\r\n");
    expect(lines.slice(1)).toEqual([
      "2026-11-22 13:00:00,i-ok,t3.medium,us-east-1a,$0.1000,$0.0400,$0.0600,$43.80,SWITCH,Cost savings,,",
      `TOTAL,,,,,,,$43.80,,${csvField(COST_CSV_TOTAL_BASELINE)},,`,
    ]);
    const events = activityPage(entries, { limit: 10, offset: 0 }).events;
    for (const id of ["big", "neg"])
      expect(events.find((e) => e.id === id)).toMatchObject({
        savings: null,
        savings_reason: expect.stringContaining("no hourly prices"),
      });
    expect(events.find((e) => e.id === "inf")).toMatchObject({ savings: 0.1 });
  });

  it("shows an hourly saving that, times 730, is the monthly figure beside it", () => {
    const lines = costExportCsv([decision("tiny", "2026-11-22T10:00:00Z", [0.00004, 0])], now).split("\r\n");
    expect(lines[1]).toBe(
      "2026-11-22 10:00:00,i-tiny,t3.medium,us-east-1a,$0.0000,$0.0000,$0.0000,$0.00,SWITCH,Cost savings,,",
    );
  });
});
