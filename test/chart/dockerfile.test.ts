// The container image's Dockerfile, checked without a Docker engine: the Dockerfile linter and the image's promises.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/cluster.js";

const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
const instructions = dockerfile
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

describe("Dockerfile", () => {
  it("passes the Dockerfile linter without a diagnostic", () => {
    expect(validate(dockerfile).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("is multi-stage on Node 24 LTS with production dependencies only", () => {
    const froms = instructions.filter((l) => l.startsWith("FROM "));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM node:24[-.\w]*\s+AS\s+\w+$/);
    const install = instructions.find((l) => l.includes("npm ci"));
    expect(install).toMatch(/--omit=dev/);
    expect(instructions.some((l) => l.startsWith("COPY --from="))).toBe(true);
  });

  it("runs as a non-root user with the three entrypoints", () => {
    const users = instructions.filter((l) => l.startsWith("USER "));
    expect(users.at(-1)).toMatch(/^USER [1-9]\d*(:[1-9]\d*)?$/);
    const entrypoint = instructions.find((l) => l.startsWith("ENTRYPOINT "));
    const script = /"(\/app\/bin\/[^"]+)"/.exec(entrypoint ?? "")?.[1];
    expect(script).toBeDefined();
    const source = readFileSync(join(repoRoot, script!.replace(/^\/app\//, "")), "utf8");
    for (const component of ["operator", "facade", "agent"]) expect(source).toMatch(new RegExp(`\\b${component}:`));
  });

  it("copies only paths that exist in the repository", () => {
    const sources = instructions
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(existsSync(join(repoRoot, source)), source).toBe(true);
  });
});
