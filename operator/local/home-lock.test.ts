import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
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

const boot = (): string => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
};
const me = { pid: process.pid, host: hostname(), boot: boot() };
const holderIn = (dir: string): unknown => JSON.parse(readFileSync(join(dir, "lock"), "utf8"));
const writeHolder = (dir: string, h: object): void => writeFileSync(join(dir, "lock"), JSON.stringify(h));

describe("lockHome", () => {
  it("refuses a home a live process of this host holds, and takes it once released; no file is left aside", () => {
    const dir = home();
    const release = lockHome(dir); // held by this (live) test process
    expect(holderIn(dir)).toEqual(me);
    const other = { ...me, pid: process.pid + 1_000_000 };
    expect(() => lockHome(dir, other)).toThrow(HomeInUseError);
    expect(() => lockHome(dir, other)).toThrow(new RegExp(`in use by process ${process.pid} \\(another npm start`));
    release();
    expect(existsSync(join(dir, "lock"))).toBe(false);
    const again = lockHome(dir, other);
    expect(holderIn(dir)).toEqual(other);
    again();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes over a lock whose process is gone, from before a reboot, by this very pid, or unreadable", () => {
    const dir = home();
    for (const stale of [{ ...me, pid: deadPid() }, { ...me, boot: "an-earlier-boot" }, me, "garbage"]) {
      if (typeof stale === "string") writeFileSync(join(dir, "lock"), stale);
      else writeHolder(dir, stale);
      const release = lockHome(dir);
      expect(holderIn(dir)).toEqual(me);
      release();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a lock held from another host (its process cannot be checked from here)", () => {
    const dir = home();
    writeHolder(dir, { pid: 1, host: "other-host", boot: "x" });
    expect(() => lockHome(dir)).toThrow(/in use by process 1 on host other-host/);
  });

  it("of starts racing for a stale lock, exactly one takes it", async () => {
    const dir = home();
    writeHolder(dir, { ...me, pid: deadPid() });
    const module = new URL("./home-lock.ts", import.meta.url).href;
    const done = join(dir, "..", `${dir.split("/").pop()}-done`);
    homes.push(done);
    // the one that takes the lock holds it (alive) until every start has answered
    const script =
      `const { lockHome } = await import(${JSON.stringify(module)}); const { existsSync } = await import("node:fs");` +
      `try { lockHome(${JSON.stringify(dir)}); console.log("took");` +
      `while (!existsSync(${JSON.stringify(done)})) await new Promise((r) => setTimeout(r, 50)); }` +
      `catch (e) { console.log(e.constructor.name); }`;
    const children = Array.from({ length: 6 }, () =>
      spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: process.cwd() }),
    );
    const outcomes = await Promise.all(
      children.map(
        (child) =>
          new Promise<string>((resolve) => {
            let out = "";
            child.stdout.on("data", (d: Buffer) => {
              out += d.toString();
              if (out.includes("\n")) resolve(out.trim());
            });
            child.on("exit", () => resolve(out.trim()));
          }),
      ),
    );
    writeFileSync(done, "");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.on("exit", r)))));
    expect(outcomes.filter((o) => o === "took")).toHaveLength(1);
    expect(outcomes.filter((o) => o !== "took").every((o) => o === "HomeInUseError")).toBe(true);
  }, 60_000);

  it("a release leaves alone a lock another start has taken over meanwhile", () => {
    const dir = home();
    const release = lockHome(dir, { ...me, pid: 1111 });
    writeHolder(dir, { ...me, pid: 2222 });
    release();
    expect(holderIn(dir)).toEqual({ ...me, pid: 2222 });
  });
});
