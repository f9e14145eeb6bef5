// One local mode per SPOTOPT_HOME: a second start on the same directory rewrote the kubeconfig to its own port and
// kept its own copy of the state, so the writes one of them acknowledged were lost when the other saved.
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** Another running process holds the home directory. */
export class HomeInUseError extends Error {}

/** Who holds the lock: a pid means something only on its host and since that host's boot. */
interface Holder {
  pid: number;
  host: string;
  boot: string;
}

/**
 * Takes `home` for this process and returns the release. The lock file appears with its content at once (written
 * aside, then hard-linked into place, which fails if a lock exists). A lock whose process is gone (killed, the machine
 * restarted) is taken over; one from another host is not (its process cannot be checked from here).
 */
export function lockHome(home: string, self: Holder = currentHolder()): () => void {
  const file = join(home, "lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(file, self)) return () => release(file, self);
    const holder = holderOf(file);
    if (holder && holds(holder, self)) throw inUse(home, file, holder, self);
    takeOver(file, holder);
  }
  throw new HomeInUseError(`${home}: could not take ${file}; another start is taking it at the same time`);
}

function currentHolder(): Holder {
  return { pid: process.pid, host: hostname(), boot: bootId() };
}

/** The kernel's id of this boot (Linux); empty elsewhere, where a pid is then trusted within the host. */
function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

/** Creates the lock holding `self`; false when one exists. */
function create(file: string, self: Holder): boolean {
  const aside = `${file}.${self.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(aside, `${JSON.stringify(self)}\n`, { mode: 0o600 });
  try {
    linkSync(aside, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  } finally {
    removeQuietly(aside);
  }
}

/** The lock's holder; undefined when the file is gone or is not one this code wrote. */
function holderOf(file: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as Partial<Holder>;
    if (typeof h.pid !== "number" || typeof h.host !== "string" || typeof h.boot !== "string") return undefined;
    return { pid: h.pid, host: h.host, boot: h.boot };
  } catch {
    return undefined;
  }
}

/**
 * Whether `holder` may still be running: on another host, or with no boot id to compare, it cannot be ruled out;
 * on this host since its last boot, when its pid is alive and not this process's (a container restart reuses pids).
 */
function holds(holder: Holder, self: Holder): boolean {
  if (holder.host !== self.host) return true;
  if (holder.boot !== self.boot && holder.boot !== "" && self.boot !== "") return false;
  return holder.pid !== self.pid && running(holder.pid);
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUse(home: string, file: string, holder: Holder, self: Holder): HomeInUseError {
  const who = holder.host === self.host ? `process ${holder.pid}` : `process ${holder.pid} on host ${holder.host}`;
  return new HomeInUseError(
    `${home} is in use by ${who} (another npm start on the same SPOTOPT_HOME); stop it or set SPOTOPT_HOME to ` +
      `another directory (if no such process runs, remove ${file})`,
  );
}

/**
 * Moves a stale lock aside. Two starts may both find it stale: the one whose rename moved a lock the other has just
 * taken (its content changed) puts it back, and both then look again.
 */
function takeOver(file: string, stale: Holder | undefined): void {
  const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // gone already: another start moved it
  }
  const moved = holderOf(aside);
  if (moved !== undefined && JSON.stringify(moved) !== JSON.stringify(stale)) {
    try {
      linkSync(aside, file);
    } catch {
      // a third start made a lock meanwhile: the next look finds it
    }
  }
  removeQuietly(aside);
}

/** Removes the lock if it is still this process's (a start that took over a stale lock keeps its own). */
function release(file: string, self: Holder): void {
  const holder = holderOf(file);
  if (holder && JSON.stringify(holder) === JSON.stringify(self)) removeQuietly(file);
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
