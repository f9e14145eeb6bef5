// Pod CSV parsing: the workload file parses; every kind of bad row names its line and field.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { hasSharedData, sharedDataDir, sharedDataSkipReason } from "../../test/support/shared-data.js";
import { parsePodsCsv } from "./pods-csv.js";

describe("parsePodsCsv", () => {
  it.skipIf(!hasSharedData)(
    `parses ../shared/data/workload-pods.csv with all its pods (${hasSharedData ? "present" : sharedDataSkipReason})`,
    () => {
      const text = readFileSync(resolve(sharedDataDir, "workload-pods.csv"), "utf8");
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
    },
  );

  it("accepts the four required columns alone and skips blank lines", () => {
    expect(parsePodsCsv("app,cpu_millicores,memory_mib,count\nweb,250,512,3\n\n", "f.csv")).toEqual([
      { app: "web", cpuMillicores: 250, memoryMiB: 512, count: 3 },
    ]);
  });

  it("reads arch and families node selectors, in any order after the required columns", () => {
    const text = "app,cpu_millicores,memory_mib,count,families,arch\napi,500,1024,2,m7g|c7g,arm64\nweb,250,512,1,,\n";
    expect(parsePodsCsv(text, "f.csv")).toEqual([
      { app: "api", cpuMillicores: 500, memoryMiB: 1024, count: 2, arch: "arm64", families: ["m7g", "c7g"] },
      { app: "web", cpuMillicores: 250, memoryMiB: 512, count: 1 },
    ]);
  });

  it.each([
    [
      "app,cpu_millicores,memory_mib,count,arch\nweb,1,1,1,x86",
      /line 2: field arch: must be x86_64 \(or amd64\) or arm64/,
    ],
    ["app,cpu_millicores,memory_mib,count,families\nweb,1,1,1,m7g|", /line 2: field families/],
    ["app,cpu_millicores,memory_mib,count,arch,arch\nweb,1,1,1,arm64,arm64", /line 1: header must be/],
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
    [
      "app,cpu_millicores,memory_mib,count,num_gpu,gpu_milli,qos\nweb,1,1,1,0,0,Premium",
      /line 2: field qos: must be one of Guaranteed, Burstable, BestEffort/,
    ],
  ])("rejects %j", (text, message) => {
    expect(() => parsePodsCsv(text, "f.csv")).toThrow(message);
  });

  it("reads the CRD's x86_64 and the node label's amd64 as the same architecture", () => {
    const text = ["app,cpu_millicores,memory_mib,count,arch", "a,1,1,1,x86_64", "b,1,1,1,amd64", "c,1,1,1,arm64"].join(
      "\n",
    );
    expect(parsePodsCsv(text, "f.csv").map((g) => g.arch)).toEqual(["amd64", "amd64", "arm64"]);
  });

  it("accepts every known qos class and an empty one", () => {
    const text = [
      "app,cpu_millicores,memory_mib,count,num_gpu,gpu_milli,qos",
      "a,1,1,1,0,0,LS",
      "b,1,1,1,0,0,Burstable",
      "c,1,1,1,0,0,",
    ].join("\n");
    expect(parsePodsCsv(text, "f.csv").map((g) => g.app)).toEqual(["a", "b", "c"]);
  });
});
