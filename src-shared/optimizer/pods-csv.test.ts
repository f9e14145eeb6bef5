// Pod CSV parsing: the workload file parses; every kind of bad row names its line and field.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePodsCsv } from "./pods-csv.js";

describe("parsePodsCsv", () => {
  it("parses ../shared/data/workload-pods.csv with all its pods", () => {
    const text = readFileSync(resolve(import.meta.dirname, "../../../shared/data/workload-pods.csv"), "utf8");
    const groups = parsePodsCsv(text, "workload-pods.csv");
    const rows = text
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
    expect(groups).toHaveLength(rows.length);
    expect(groups.reduce((s, g) => s + g.count, 0)).toBe(rows.reduce((s, r) => s + Number(r[3]), 0));
    expect(groups[0]).toEqual({
      app: rows[0]![0],
      cpuMillicores: Number(rows[0]![1]),
      memoryMiB: Number(rows[0]![2]),
      count: Number(rows[0]![3]),
      gpus: Number(rows[0]![4]),
    });
  });

  it("accepts the four required columns alone and skips blank lines", () => {
    expect(parsePodsCsv("app,cpu_millicores,memory_mib,count\nweb,250,512,3\n\n", "f.csv")).toEqual([
      { app: "web", cpuMillicores: 250, memoryMiB: 512, count: 3 },
    ]);
  });

  it.each([
    ["app,cpu,memory_mib,count\nweb,1,1,1", /f\.csv line 1: header must be app,cpu_millicores,memory_mib,count/],
    ["app,cpu_millicores,memory_mib,count\nweb,abc,1,1", /f\.csv line 2: field cpu_millicores: expected an integer/],
    ["app,cpu_millicores,memory_mib,count\nweb,1,1,1\nweb,1,-5,1", /f\.csv line 3: field memory_mib/],
    ["app,cpu_millicores,memory_mib,count\nweb,1,1,0", /line 2: field count: expected an integer ≥ 1/],
    ["app,cpu_millicores,memory_mib,count\nweb,1,1", /line 2: expected 4 fields, got 3/],
    [
      "app,cpu_millicores,memory_mib,count,num_gpu,gpu_milli\nweb,1,1,1,1,2000",
      /line 2: field gpu_milli: must be 0\.\.1000/,
    ],
    ["app,cpu_millicores,memory_mib,count\n,1,1,1", /line 2: field app: must not be empty/],
    ["app,cpu_millicores,memory_mib,count\n", /f\.csv: no pod rows/],
  ])("rejects %j", (text, message) => {
    expect(() => parsePodsCsv(text, "f.csv")).toThrow(message);
  });
});
