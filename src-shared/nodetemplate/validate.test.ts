// Unit tests for node-template validation, with the family→architecture rule checked against Karpenter's table.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { validateTemplate, familyArchitecture, normaliseArchitecture } from "./validate.js";
import { itWithSharedData, sharedDataDir } from "../../test/support/shared-data.js";

describe("validateTemplate", () => {
  it("reports the dashboard's example conflict (g4dn on ARM64)", () => {
    const result = validateTemplate({ families: ["g4dn"], architecture: "ARM64" });
    expect(result.valid).toBe(false);
    expect(result.warnings).toContain("Instance family g4dn is incompatible with ARM64");
  });

  it("accepts a consistent x86 template and a consistent Graviton template", () => {
    expect(validateTemplate({ families: ["m5", "c5", "r5"], architecture: "x86_64", strategy: "SPOT" })).toMatchObject({
      valid: true,
      errors: [],
      architecture: "x86_64",
    });
    expect(validateTemplate({ families: ["m7g", "c7gn", "t4g"], architecture: "arm64" }).valid).toBe(true);
  });

  it("rejects unknown architectures, non-family names, HDD root volumes and bad sizes", () => {
    const result = validateTemplate({
      families: ["m5.large", ""],
      architecture: "sparc",
      diskType: "st1",
      diskSizeGiB: 0,
      strategy: "CHEAP",
    });
    expect(result.valid).toBe(false);
    expect(result.errors.length).toBe(6);
    expect(result.errors.join("\n")).toMatch(/sparc/);
    expect(result.errors.join("\n")).toMatch(/st1/);
    expect(result.errors.join("\n")).toMatch(/CHEAP/);
  });

  it("flags an empty family list as invalid and a small disk as a non-blocking warning", () => {
    expect(validateTemplate({ families: [] }).valid).toBe(false);
    const small = validateTemplate({ families: ["m5"], diskSizeGiB: 8 });
    expect(small.valid).toBe(true);
    expect(small.warnings.some((w) => w.includes("8 GiB"))).toBe(true);
  });

  it("reports a repeated family once, however often it is listed", () => {
    const result = validateTemplate({
      families: [...new Array<string>(20_000).fill("m6g"), "c7g", "c7g", "g4dn", "g4dn", "g4dn"],
      architecture: "arm64",
    });
    expect(result.warnings.filter((w) => w.includes("m6g"))).toEqual(["Instance family m6g is listed 20000 times"]);
    expect(result.warnings).toContain("Instance family c7g is listed twice");
    expect(result.errors).toEqual(["Instance family g4dn is incompatible with ARM64"]);
    expect(result.warnings).toHaveLength(4);
  });

  it("normalises architecture spellings", () => {
    expect(normaliseArchitecture("AMD64")).toBe("x86_64");
    expect(normaliseArchitecture("aarch64")).toBe("arm64");
    expect(normaliseArchitecture("mips")).toBeUndefined();
  });
});

describe("familyArchitecture", () => {
  itWithSharedData("agrees with every family in Karpenter's instance-type table", () => {
    const path = resolve(sharedDataDir, "ec2-instance-types.json");
    const table = JSON.parse(readFileSync(path, "utf8")) as {
      instanceTypes: Record<string, { family: string; arch: string }>;
    };
    const families = new Map<string, string>();
    for (const t of Object.values(table.instanceTypes)) families.set(t.family, t.arch === "arm64" ? "arm64" : "x86_64");
    expect(families.size).toBeGreaterThan(100);
    const mismatches = [...families].filter(([family, arch]) => familyArchitecture(family) !== arch);
    expect(mismatches).toEqual([]);
  });
});
