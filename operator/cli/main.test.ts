// spotctl dispatcher: help, unknown commands and usage errors keep the documented exit codes.
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const bin = new URL("../../bin/spotctl.mjs", import.meta.url).pathname;

describe("spotctl", () => {
  it("prints help listing the version command", () => {
    const out = execFileSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
    expect(out).toMatch(/Usage: spotctl <command>/);
    expect(out).toMatch(/version/);
  });

  // Each command's module is imported only when it runs: every command the help lists must still load.
  it("prints the usage of every command it lists", () => {
    const help = execFileSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
    const names = [...help.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(["version", "schedule", "audit", "plan", "render"]));
    for (const name of names) {
      const usage = execFileSync(process.execPath, [bin, name, "--help"], { encoding: "utf8" });
      expect(usage.startsWith(`spotctl ${name}`)).toBe(true);
    }
  });

  it("prints its version as JSON", () => {
    const out = execFileSync(process.execPath, [bin, "version"], { encoding: "utf8" });
    expect(JSON.parse(out).spotctl).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(["--version", "-V"])("prints the same version for %s as for the version command", (flag) => {
    const viaFlag = execFileSync(process.execPath, [bin, flag], { encoding: "utf8" });
    const viaCommand = execFileSync(process.execPath, [bin, "version"], { encoding: "utf8" });
    expect(JSON.parse(viaFlag)).toEqual(JSON.parse(viaCommand));
  });

  it("exits 2 with one line when version gets an argument", () => {
    const res = spawnSync(process.execPath, [bin, "version", "--jsno"], { encoding: "utf8" });
    expect(res.status).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(/version takes no arguments, got "--jsno"/);
  });

  it("exits 2 with one line on an unknown command", () => {
    const res = spawnSync(process.execPath, [bin, "frobnicate"], { encoding: "utf8" });
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
