// The five hibernation endpoints over HTTP: schedule_matrix compiled into weekly awake windows, exceptions, override,
// time zone and pre-warm written to the cluster's HibernationSchedule; bad values are 422; tenancy holds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { weeklyToMatrix } from "../../operator/facade/services/schedule-matrix.js";

const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  await f.client.create({ ...MC, metadata: { name: "dev", namespace: f.orgA }, spec: { mode: "remote" } });
  await f.client.create({ ...MC, metadata: { name: "dev", namespace: f.orgB }, spec: { mode: "remote" } });
  await f.client.patch(
    { ...MC, namespace: f.orgA, name: "dev" },
    { status: { nodeCount: 4, monthlyCostUsd: 1680 } },
    { type: "merge", subresource: "status" },
  );
  await eventually(
    () => f.cache.cluster(f.orgA, "dev")?.status?.monthlyCostUsd === 1680 && f.cache.cluster(f.orgB, "dev"),
  );
});
afterAll(async () => {
  await f?.stop();
});

const schedule = async (ns: string): Promise<any> =>
  (await f.client.getIfExists<any>({ ...HS, namespace: ns, name: "dev" }))?.spec;

function officeHours(): number[] {
  const m = new Array<number>(168).fill(0);
  for (let day = 0; day < 5; day++) for (let hour = 8; hour < 20; hour++) m[day * 24 + hour] = 1;
  return m;
}

describe("hibernation", () => {
  it("a viewer cannot create a schedule (403) and nothing is written", async () => {
    const res = await f.call("PATCH", "/hibernation/tz", {
      token: f.token(f.orgA, "viewer"),
      body: { timezone: "Europe/Berlin" },
    });
    expect(res.status).toBe(403);
    expect(await schedule(f.orgA)).toBeUndefined();
  });

  it("stores schedule_matrix as weekly awake ranges that expand back to the same matrix", async () => {
    const matrix = officeHours();
    const res = await f.call("POST", "/hibernation/schedule", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", schedule_matrix: matrix, timezone: "America/New_York" },
    });
    expect(res.status).toBe(200);
    const asleep = 168 - 60;
    expect(res.body).toMatchObject({
      success: true,
      cluster_id: "dev",
      asleep_hours_per_week: asleep,
      timezone: "America/New_York",
    });
    // One savings figure, the controller's: none runs here, so there is none yet (not the cluster's cost × asleep/168).
    expect(res.body.projected_savings).toBeNull();
    expect(res.body.projected_savings_baseline).toMatch(/^not computed yet/);
    const spec = await schedule(f.orgA);
    expect(spec.weekly).toEqual([{ days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "20:00" }]);
    expect(spec.matrix).toBeUndefined();
    expect(spec.timezone).toBe("America/New_York");
    expect(weeklyToMatrix(spec.weekly)).toEqual(matrix);
  });

  it("adds calendar exceptions (one per date, replaced on repeat)", async () => {
    let res = await f.call("POST", "/hibernation/exception", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", date: "2030-12-25", mode: "force_sleep" },
    });
    expect(res.status).toBe(200);
    res = await f.call("POST", "/hibernation/exception", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", date: "2030-12-24", mode: "force_awake" },
    });
    res = await f.call("POST", "/hibernation/exception", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", date: "2030-12-25", mode: "force_awake" },
    });
    expect(res.body.exceptions).toEqual([
      { date: "2030-12-24", action: "force_awake" },
      { date: "2030-12-25", action: "force_awake" },
    ]);
    expect((await schedule(f.orgA)).exceptions).toEqual(res.body.exceptions);
  });

  it("holds at most 366 date exceptions: one more is 422 at the facade and at the API server, replacing one still works", async () => {
    const ref = { ...HS, namespace: f.orgA, name: "dev" };
    try {
      const day = (k: number): string => new Date(Date.UTC(2030, 0, 1) + k * 86_400_000).toISOString().slice(0, 10);
      const full = Array.from({ length: 366 }, (_, k) => ({ date: day(k), action: "force_sleep" }));
      await f.client.patch(ref, { spec: { exceptions: full } }, { type: "merge" });
      await eventually(
        () =>
          f.cache.hibernationSchedules(f.orgA).find((h) => h.metadata.name === "dev")?.spec.exceptions?.length === 366,
      );
      const more = await f.call("POST", "/hibernation/exception", {
        token: f.token(f.orgA),
        body: { cluster_id: "dev", date: day(400), mode: "force_awake" },
      });
      expect(more.status).toBe(422);
      expect(more.body.detail).toMatch(/at most 366 date exceptions/);
      await expect(
        f.client.patch(
          ref,
          { spec: { exceptions: [...full, { date: day(400), action: "force_sleep" }] } },
          { type: "merge" },
        ),
      ).rejects.toMatchObject({ statusCode: 422 });
      const replaced = await f.call("POST", "/hibernation/exception", {
        token: f.token(f.orgA),
        body: { cluster_id: "dev", date: day(0), mode: "force_awake" },
      });
      expect(replaced.status).toBe(200);
      expect(replaced.body.exceptions).toHaveLength(366);
      expect(replaced.body.exceptions[0]).toEqual({ date: day(0), action: "force_awake" });
      // Dates long past go when one is added: they can never apply again, so a full schedule is not stuck.
      const past = [{ date: "2020-01-01", action: "force_sleep" }, ...full.slice(1)];
      await f.client.patch(ref, { spec: { exceptions: past } }, { type: "merge" });
      await eventually(
        () =>
          f.cache.hibernationSchedules(f.orgA).find((h) => h.metadata.name === "dev")?.spec.exceptions?.[0]?.date ===
          "2020-01-01",
      );
      const freed = await f.call("POST", "/hibernation/exception", {
        token: f.token(f.orgA),
        body: { cluster_id: "dev", date: day(400), mode: "force_awake" },
      });
      expect(freed.status).toBe(200);
      expect(freed.body.exceptions.map((e: { date: string }) => e.date)).not.toContain("2020-01-01");
      expect(freed.body.exceptions).toHaveLength(366);
    } finally {
      await f.client.patch(ref, { spec: { exceptions: [] } }, { type: "merge" });
    }
  });

  it("refuses an exception dated before today in the schedule's zone (today itself is taken) and an override under a quarter hour", async () => {
    const zone = (await schedule(f.orgA)).timezone ?? "UTC";
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date());
    const past = await f.call("POST", "/hibernation/exception", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", date: "1900-01-01", mode: "force_sleep" },
    });
    expect(past.status).toBe(422);
    expect(past.body.detail).toContain(`today is ${today} in ${zone}`);
    const now = await f.call("POST", "/hibernation/exception", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", date: today, mode: "force_awake" },
    });
    expect(now.status).toBe(200);
    expect((await schedule(f.orgA)).exceptions.map((e: { date: string }) => e.date)).not.toContain("1900-01-01");
    const short = await f.call("POST", "/hibernation/override", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", action: "sleep", duration_hours: 0.0001 },
    });
    expect(short.status).toBe(422);
    expect(short.body.detail).toMatch(/at least 0.25/);
  });

  it("sets a manual override with its expiry", async () => {
    const before = Date.now();
    const res = await f.call("POST", "/hibernation/override", {
      token: f.token(f.orgA),
      body: { cluster_id: "dev", action: "wake", duration_hours: 2 },
    });
    expect(res.status).toBe(200);
    const override = (await schedule(f.orgA)).override;
    expect(override).toMatchObject({ action: "wake", durationHours: 2 });
    const fromMs = Date.parse(override.from);
    expect(fromMs).toBeGreaterThanOrEqual(before - 1000);
    expect(fromMs).toBeLessThanOrEqual(Date.now());
    expect(res.body).toMatchObject({
      success: true,
      action: "wake",
      expires_at: new Date(fromMs + 2 * 3600 * 1000).toISOString(),
    });
  });

  it("changes time zone and pre-warm without touching the weekly windows", async () => {
    const tz = await f.call("PATCH", "/hibernation/tz", {
      token: f.token(f.orgA),
      body: { timezone: "America/Los_Angeles" },
    });
    expect(tz.status).toBe(200);
    expect(tz.body).toEqual({ success: true, timezone: "America/Los_Angeles", cluster_id: "dev" });
    const pw = await f.call("PATCH", "/hibernation/prewarm", {
      token: f.token(f.orgA),
      body: { enabled: true, minutes: 30 },
    });
    expect(pw.body).toEqual({ success: true, enabled: true, prewarm_minutes: 30, cluster_id: "dev" });
    const spec = await schedule(f.orgA);
    expect(spec).toMatchObject({ timezone: "America/Los_Angeles", prewarmMinutes: 30 });
    expect(spec.weekly).toHaveLength(1);
    const off = await f.call("PATCH", "/hibernation/prewarm", { token: f.token(f.orgA), body: { enabled: false } });
    expect(off.body.prewarm_minutes).toBe(0);
    expect((await schedule(f.orgA)).prewarmMinutes).toBe(0);
  });

  it("rejects an unknown time zone and a short matrix with 422 and changes nothing", async () => {
    const before = await schedule(f.orgA);
    const tz = await f.call("PATCH", "/hibernation/tz", { token: f.token(f.orgA), body: { timezone: "Mars/Olympus" } });
    expect(tz.status).toBe(422);
    expect(tz.body.detail).toContain("timezone");
    const short = await f.call("POST", "/hibernation/schedule", {
      token: f.token(f.orgA),
      body: { schedule_matrix: [1, 0, 1] },
    });
    expect(short.status).toBe(422);
    expect(short.body.detail).toContain("schedule_matrix");
    expect(await schedule(f.orgA)).toEqual(before);
  });

  it("a schedule created by a tz change starts awake all week (creating it never sleeps a cluster)", async () => {
    const res = await f.call("PATCH", "/hibernation/tz", {
      token: f.token(f.orgB),
      body: { timezone: "Europe/Berlin" },
    });
    expect(res.status).toBe(200);
    const spec = await schedule(f.orgB);
    expect(spec.weekly).toEqual([
      { days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" },
    ]);
    expect(spec.timezone).toBe("Europe/Berlin");
    // Organisation A's schedule is untouched by B, and B cannot address A's cluster by id beyond its own namespace.
    expect((await schedule(f.orgA)).timezone).toBe("America/Los_Angeles");
  });
});
