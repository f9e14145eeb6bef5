import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HomeInUseError, lockHome } from "./home-lock.js";

const homes: string[] = [];
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), "spotopt-lock-"));
  homes.push(dir);
  return dir;
}
afterEach(() => homes.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("lockHome", () => {
  it("refuses a home another live process holds, and takes it once released", () => {
    const dir = home();
    const release = lockHome(dir); // held by this (live) test process
    expect(() => lockHome(dir, process.pid + 1_000_000)).toThrow(HomeInUseError);
    expect(() => lockHome(dir, process.pid + 1_000_000)).toThrow(new RegExp(`in use by process ${process.pid}`));
    release();
    expect(existsSync(join(dir, "lock"))).toBe(false);
    const again = lockHome(dir, 4242);
    expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe("4242");
    again();
  });

  it("takes over a lock left by a process that is gone, or by an old process with this pid", () => {
    const dir = home();
    writeFileSync(join(dir, "lock"), `${deadPid()}\n`);
    const release = lockHome(dir);
    expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe(String(process.pid));
    release();
    writeFileSync(join(dir, "lock"), `${process.pid}\n`);
    lockHome(dir)();
    writeFileSync(join(dir, "lock"), "garbage\n");
    lockHome(dir)();
    expect(existsSync(join(dir, "lock"))).toBe(false);
  });

  it("a release leaves alone a lock another start has taken over meanwhile", () => {
    const dir = home();
    const release = lockHome(dir, 1111);
    writeFileSync(join(dir, "lock"), "2222\n");
    release();
    expect(readFileSync(join(dir, "lock"), "utf8").trim()).toBe("2222");
  });
});
