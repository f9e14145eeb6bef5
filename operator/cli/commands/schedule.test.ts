// `spotctl schedule eval` as a subprocess: JSON lines per instant, exit 2 naming the field on a bad spec.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const bin = new URL("../../../bin/spotctl.mjs", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "spotctl-schedule-"));

function spotctl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const yamlManifest = `apiVersion: spotoptimizer.io/v1alpha1
kind: HibernationSchedule
metadata:
  name: office-hours
  namespace: acme
spec:
  clusterRef: {name: prod}
  timezone: Europe/Berlin
  weekly:
    - days: [Mon, Tue, Wed, Thu, Fri]
      start: "08:00"
      end: "19:00"
  exceptions:
    - {date: "2025-10-27", action: force_sleep}
  prewarmMinutes: 15
  excludedNamespaces: [monitoring]
`;

describe("spotctl schedule eval", () => {
  it("prints one JSON line per --at for a YAML manifest", () => {
    const spec = file("office.yaml", yamlManifest);
    // 2025-10-24 is a Friday: 08:00 CEST = 06:00Z, pre-warm from 05:45Z; 19:00 CEST = 17:00Z.
    // Monday 2025-10-27 is a force_sleep date (CET now): the next wake is Tue 07:45 CET = 06:45Z.
    const res = spotctl(
      "schedule",
      "eval",
      "--spec",
      spec,
      "--at",
      "2025-10-24T05:45:00Z",
      "--at",
      "2025-10-24T17:00:00+00:00",
      "--at",
      "2025-10-27T10:00:00+01:00",
    );
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(
      res.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { at: "2025-10-24T05:45:00Z", state: "awake", reason: "prewarm", nextTransition: "2025-10-24T17:00:00Z" },
      { at: "2025-10-24T17:00:00Z", state: "asleep", reason: "default", nextTransition: "2025-10-28T06:45:00Z" },
      { at: "2025-10-27T09:00:00Z", state: "asleep", reason: "exception", nextTransition: "2025-10-28T06:45:00Z" },
    ]);
  });

  it("evaluates a manifest without a time zone in the CRD's default, UTC, as the API server stores it", () => {
    const spec = file("no-zone.yaml", yamlManifest.replace("  timezone: Europe/Berlin\n", ""));
    // 07:30 UTC is 08:30 in Berlin: awake there, still asleep in UTC until the 15 min prewarm before 08:00
    const res = spotctl("schedule", "eval", "--spec", spec, "--at", "2025-01-13T07:30:00Z");
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ state: "asleep", nextTransition: "2025-01-13T07:45:00Z" });
  });

  it("reads a JSON manifest", () => {
    const spec = file(
      "utc.json",
      JSON.stringify({
        kind: "HibernationSchedule",
        spec: {
          clusterRef: { name: "prod" },
          timezone: "UTC",
          weekly: [{ days: ["Sat", "Sun"], start: "10:00", end: "12:00" }],
        },
      }),
    );
    const res = spotctl("schedule", "eval", "--spec", spec, "--at", "2025-01-11T11:00:00Z");
    expect(res.status).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      at: "2025-01-11T11:00:00Z",
      state: "awake",
      reason: "weekly",
      nextTransition: "2025-01-11T12:00:00Z",
    });
  });

  it.each([
    ["a bad end time", yamlManifest.replace('end: "19:00"', 'end: "19:75"'), /spec\.weekly\[0\]\.end/],
    ["an unknown day", yamlManifest.replace("Mon, Tue", "Mon, Tues"), /spec\.weekly\[0\]\.days\[1\]/],
    ["a bad time zone", yamlManifest.replace("Europe/Berlin", "Europe/Atlantis"), /spec\.timezone/],
    ["a bad date", yamlManifest.replace("2025-10-27", "2025-02-29"), /spec\.exceptions\[0\]\.date/],
    ["start == end", yamlManifest.replace('end: "19:00"', 'end: "08:00"'), /spec\.weekly\[0\]\.end/],
    [
      "a negative grace period (checked like the CRD)",
      yamlManifest.replace("prewarmMinutes: 15", "prewarmMinutes: 15\n  gracePeriodMinutes: -1"),
      /^spotctl schedule: spec\.gracePeriodMinutes: /,
    ],
    [
      "a missing clusterRef",
      yamlManifest.replace("  clusterRef: {name: prod}\n", ""),
      /^spotctl schedule: spec\.clusterRef: /,
    ],
    [
      "the wrong kind",
      yamlManifest.replace("kind: HibernationSchedule", "kind: NodeTemplate"),
      /^spotctl schedule: kind:/,
    ],
    ["broken YAML", "spec: [unclosed", /not valid YAML or JSON/],
    [
      "a misspelt field (kubectl apply refuses it too)",
      yamlManifest.replace("  timezone: Europe/Berlin\n", "  timezone: Europe/Berlin\n  prewarmMinute: 30\n"),
      /^spotctl schedule: unknown field "spec\.prewarmMinute"$/,
    ],
    [
      "a misspelt required field",
      yamlManifest.replace("  timezone: Europe/Berlin\n", "  timezon: Europe/Berlin\n"),
      /^spotctl schedule: unknown field "spec\.timezon"$/,
    ],
    [
      "a misspelt top-level field",
      yamlManifest.replace("metadata:\n", "metdata: {}\nmetadata:\n"),
      /^spotctl schedule: unknown field "metdata"$/,
    ],
  ])("exits 2 with one line naming the field for %s", (_name, text, message) => {
    const res = spotctl("schedule", "eval", "--spec", file("bad.yaml", text), "--at", "2025-01-01T00:00:00Z");
    expect(res.status).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr.trim()).toMatch(message);
  });

  // One process per case: each start of the CLI costs seconds on a loaded machine.
  it.each([
    ["a --at without a zone", ["--spec", "ok.yaml", "--at", "2025-01-01 10:00"], /--at/],
    ["an unparsable --at", ["--spec", "ok.yaml", "--at", "yesterday"], /--at/],
    ["a missing --at", ["--spec", "ok.yaml"], /--at/],
    ["a missing file", ["--spec", "missing.yaml", "--at", "2025-01-01T00:00:00Z"], /missing\.yaml/],
  ])("exits 2 with one line on %s", (_case, args, message) => {
    file("ok.yaml", yamlManifest);
    const res = spotctl("schedule", "eval", ...args.map((a) => (a.endsWith(".yaml") ? join(dir, a) : a)));
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(message);
  });

  it("exits 2 on an unknown subcommand", () => {
    expect(spotctl("schedule", "frob").status).toBe(2);
  });

  it("says that - (stdin) is not read, here and for spotctl plan's --pods", () => {
    const schedule = spotctl("schedule", "eval", "--spec", "-", "--at", "2025-01-01T00:00:00Z");
    expect(schedule.status).toBe(2);
    expect(schedule.stderr.trim()).toBe("spotctl schedule: --spec -: reading from stdin is not supported; give a file");
    const plan = spotctl("plan", "--pods", "-");
    expect(plan.status).toBe(2);
    expect(plan.stderr.trim()).toBe("spotctl plan: --pods -: reading from stdin is not supported; give a file");
  });
});
