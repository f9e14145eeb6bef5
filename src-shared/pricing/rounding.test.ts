// Money rounding for outputs: figures people read carry no float noise, hourly prices keep 4 decimals.
import { describe, expect, it } from "vitest";
import { moneyReplacer, roundTo } from "./rounding.js";

describe("money rounding", () => {
  it.each([
    [0.47600000000000003, 2, 0.48],
    [0.47600000000000003, 4, 0.476],
    [1.005, 2, 1.01],
    [-2.345, 2, -2.35],
    [12, 2, 12],
    [0, 4, 0],
    [2e19, 2, 2e19],
    [-1e300, 4, -1e300],
    [123456789012.34567, 4, 123456789012.3457],
    [1234567890123.457, 4, 1234567890123.457],
    [4e-7, 4, 0],
    [-4e-7, 2, 0],
    [0.00005, 4, 0.0001],
  ])("roundTo(%d, %d) = %d", (value, decimals, expected) => {
    expect(roundTo(value, decimals)).toBe(expected);
  });

  it("rounds hourly fields to 4 decimals and monthly / percentage fields to cents, leaving counts alone", () => {
    const text = JSON.stringify(
      {
        hourlyUsd: 0.096000000000000002,
        onDemandHourlyUsd: 0.1234567,
        monthlyCostUsd: 70.08000000000001,
        savingsPct: 33.333333,
        count: 3,
        allocatable: { cpuMillicores: 1930 },
      },
      moneyReplacer,
    );
    expect(JSON.parse(text)).toEqual({
      hourlyUsd: 0.096,
      onDemandHourlyUsd: 0.1235,
      monthlyCostUsd: 70.08,
      savingsPct: 33.33,
      count: 3,
      allocatable: { cpuMillicores: 1930 },
    });
  });
});
