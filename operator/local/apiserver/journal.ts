// The write-ahead log of the local API server: every committed change is appended and fsync'd (group commit) before
// any response that could reveal it is sent; snapshots compact the log in the background.
import { closeSync, fdatasync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { promisify } from "node:util";
import {
  encodeLine,
  SNAPSHOT_FORMAT,
  snapshotChunks,
  stateFiles,
  type Credentials,
  type LogRecord,
  type RecoveredState,
  type StateFiles,
  type StoredObjects,
} from "./persistence.js";
import type { ObjectStore, StoreEvent } from "./store.js";

const datasync = promisify(fdatasync);

export interface JournalOptions {
  dataFile: string;
  store: ObjectStore;
  credentials: Credentials;
  /** What recoverState found; undefined for a new state (an initial snapshot is written first). */
  recovered?: RecoveredState;
  /** A snapshot starts once the log since the last one reaches max(this, the snapshot's size). Default 4 MiB. */
  compactMinBytes?: number;
  warn: (message: string) => void;
}

interface Waiter {
  rv: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** fsync of a directory, so that a rename or a new file in it survives a power loss. */
function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `text` at the end of `fd` (a regular file may take a write in parts). */
function writeAll(fd: number, text: string): number {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  return buf.length;
}

/** The log, its durability barrier and snapshot compaction, attached to one ObjectStore. */
export class Journal {
  private readonly files: StateFiles;
  private readonly compactMinBytes: number;
  private fd = -1;
  private pending: string[] = [];
  /** Revision of the last change handed to the log; the chain link of the next record. */
  private committedRv: number;
  private durableRv: number;
  private waiters: Waiter[] = [];
  private flushing = false;
  private failed: Error | undefined;
  private closed = false;
  private snapshotRv: number;
  private snapshotBytes: number;
  private logBytes: number;
  private compaction: Promise<void> | undefined;
  private flushed: Promise<void> = Promise.resolve();
  private flushDone: () => void = () => undefined;

  private constructor(private readonly opts: JournalOptions) {
    this.files = stateFiles(opts.dataFile);
    this.compactMinBytes = opts.compactMinBytes ?? 4 << 20;
    this.committedRv = opts.store.rv;
    this.durableRv = opts.store.rv;
    this.snapshotRv = opts.recovered?.snapshotRv ?? -1;
    this.snapshotBytes = opts.recovered?.snapshotBytes ?? 0;
    this.logBytes = opts.recovered?.logBytes ?? 0;
  }

  /** Opens the log after recovery: writes a first snapshot when there is none in the current format, opens a segment. */
  static open(opts: JournalOptions): Journal {
    const j = new Journal(opts);
    if (j.snapshotRv < 0) j.snapshotNow();
    j.openSegment(opts.store.rv + 1);
    opts.store.journal = (ev) => j.append(ev);
    return j;
  }

  /** Resolves once every change up to `rv` is on disk; rejects when the log cannot be written. */
  whenDurable(rv: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.durableRv >= rv) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ rv, resolve, reject }));
  }

  /**
   * Holds back what `res` sends until every change committed so far is durable: no client learns of a change
   * (write acknowledgement, read or watch event) that a crash could still lose. Order of the writes is kept.
   */
  gate(res: ServerResponse): void {
    let queued = 0;
    let chain: Promise<void> = Promise.resolve();
    const hold = (send: (...args: unknown[]) => unknown, deferred: unknown) => {
      return (...args: unknown[]): unknown => {
        const target = this.committedRv;
        if (queued === 0 && this.durableRv >= target && !this.failed) return send(...args);
        queued += 1;
        chain = chain
          .then(() => this.whenDurable(target))
          .then(
            () => void send(...args),
            () => void res.destroy(),
          )
          .finally(() => (queued -= 1));
        return deferred;
      };
    };
    res.write = hold(res.write.bind(res) as (...args: unknown[]) => unknown, true) as typeof res.write;
    res.end = hold(res.end.bind(res) as (...args: unknown[]) => unknown, res) as typeof res.end;
  }

  /** Waits for the log and any snapshot in progress, writes a last snapshot, closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.compaction;
    while (this.flushing) await this.flushed;
    if (!this.failed && this.logBytes > 0) await this.compact().catch((err: unknown) => this.snapshotFailed(err));
    this.closed = true;
    this.opts.store.journal = undefined;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private append(ev: StoreEvent): void {
    if (this.closed || this.failed) return;
    const base = { rv: ev.rv, p: this.committedRv, r: ev.resource, k: ev.key };
    const rec: LogRecord = ev.type === "DELETED" ? { ...base, op: "del" } : { ...base, op: "put", o: ev.obj };
    this.pending.push(encodeLine(rec));
    this.committedRv = ev.rv;
    if (this.flushing) return;
    this.flushing = true;
    this.flushed = new Promise((resolve) => (this.flushDone = resolve));
    setImmediate(() => void this.flush());
  }

  /** Group commit: everything appended while one fsync runs goes to disk with the next one. */
  private async flush(): Promise<void> {
    while (this.pending.length > 0 && !this.failed) {
      const batch = this.pending.join("");
      const upto = this.committedRv;
      this.pending = [];
      try {
        this.logBytes += writeAll(this.fd, batch);
        await datasync(this.fd);
      } catch (err) {
        this.fail(err as Error);
        break;
      }
      this.markDurable(upto);
    }
    this.flushing = false;
    this.flushDone();
    this.maybeCompact();
  }

  private markDurable(rv: number): void {
    this.durableRv = rv;
    const ready = this.waiters.filter((w) => w.rv <= rv);
    this.waiters = this.waiters.filter((w) => w.rv > rv);
    for (const w of ready) w.resolve();
  }

  /** A log that cannot be written ends acknowledgements: waiting responses are cut, so no client is told "done". */
  private fail(err: Error): void {
    this.failed = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    this.opts.warn(
      `${this.files.dir}: cannot write the state log (${err.message}); writes are no longer acknowledged — stop local mode, fix the cause and start it again (every acknowledged write is kept)`,
    );
  }

  private openSegment(startRv: number): void {
    const fd = openSync(this.files.segment(startRv), "a", 0o600);
    syncDir(this.files.dir);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = fd;
  }

  private header(rv: number): Parameters<typeof snapshotChunks>[0] {
    return { format: SNAPSHOT_FORMAT, resourceVersion: rv, ...this.opts.credentials };
  }

  /** The first snapshot, written before anything is served (it holds the token and the serving key). */
  private snapshotNow(): void {
    const rv = this.opts.store.rv;
    const fd = openSync(this.files.tmp, "w", 0o600);
    let bytes = 0;
    try {
      for (const chunk of snapshotChunks(this.header(rv), this.opts.store.copyData())) bytes += writeAll(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.install(rv, bytes);
  }

  private maybeCompact(): void {
    if (this.compaction || this.failed || this.closed) return;
    if (this.logBytes < Math.max(this.compactMinBytes, this.snapshotBytes)) return;
    this.compaction = this.compact()
      .catch((err: unknown) => this.snapshotFailed(err))
      .finally(() => (this.compaction = undefined));
  }

  /** A failed snapshot loses nothing: the log since the last good one is kept until a later snapshot succeeds. */
  private snapshotFailed(err: unknown): void {
    rmSync(this.files.tmp, { force: true });
    this.opts.warn(
      `${this.files.snapshot}: snapshot failed (${(err as Error).message}); the log still holds every change`,
    );
  }

  /**
   * Snapshot at the current revision. Called when nothing is pending, so the copy is exactly the durable state;
   * later changes go to a new segment while the copy is written in chunks (the server keeps answering meanwhile).
   */
  private async compact(): Promise<void> {
    const rv = this.committedRv;
    const data: StoredObjects = this.opts.store.copyData();
    this.openSegment(rv + 1);
    this.logBytes = 0;
    const fh = await open(this.files.tmp, "w", 0o600);
    let bytes = 0;
    try {
      for (const chunk of snapshotChunks(this.header(rv), data)) {
        await fh.write(chunk);
        bytes += Buffer.byteLength(chunk);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.install(rv, bytes);
  }

  /**
   * Makes the temp file the snapshot, keeping the one it replaces as the previous snapshot (a hard link, so a
   * snapshot file exists at every instant), then drops log segments the previous snapshot no longer needs.
   */
  private install(rv: number, bytes: number): void {
    const { snapshot, prev, tmp, dir } = this.files;
    const prevRv = this.snapshotRv;
    rmSync(prev, { force: true });
    try {
      linkSync(snapshot, prev);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    renameSync(tmp, snapshot);
    syncDir(dir);
    this.snapshotRv = rv;
    this.snapshotBytes = bytes;
    this.dropSegmentsUpTo(prevRv < 0 ? rv : prevRv);
  }

  /** Removes segments all of whose changes are at or before `rv` (never the one being written). */
  private dropSegmentsUpTo(rv: number): void {
    const segs = this.files.segments();
    for (let i = 0; i + 1 < segs.length; i++) {
      if (segs[i + 1]!.startRv - 1 <= rv) rmSync(segs[i]!.path, { force: true });
    }
  }
}
