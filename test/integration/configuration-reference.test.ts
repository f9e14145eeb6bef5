// docs/configuration.md lists every SPOTOPT_* variable the product code reads, so the reference cannot fall behind.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = resolve(import.meta.dirname, "../..");

function productSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : productSources(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("configuration reference", () => {
  it("documents every SPOTOPT_* variable read by operator/, agent/ and src-shared/", () => {
    const reference = readFileSync(join(repoRoot, "docs/configuration.md"), "utf8");
    const read = new Set<string>();
    for (const dir of ["operator", "agent", "src-shared"])
      for (const file of productSources(join(repoRoot, dir)))
        for (const m of readFileSync(file, "utf8").matchAll(/\b(SPOTOPT_[A-Z0-9_]+)\b/g)) read.add(m[1]!);
    expect(read.size).toBeGreaterThan(10);
    const missing = [...read].filter((name) => !reference.includes(`\`${name}\``)).sort();
    expect(missing).toEqual([]);
  });
});
