// On-disk state of the local API server: snapshot and write-ahead log formats, recovery at start, file permissions.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import type { KubeObject } from "./selectors.js";

/** Written snapshots: JSON lines, each `<crc32 hex> <json>`, a header first and an end record last. */
export const SNAPSHOT_FORMAT = "spotopt-apiserver/v2";
/** The single-document JSON snapshot of earlier versions (read once, then replaced by the current format). */
const LEGACY_FORMAT = "spotopt-apiserver/v1";

/** What the API server keeps besides objects: the bearer token and the serving certificate. */
export interface Credentials {
  token: string;
  certPem: string;
  keyPem: string;
}

/** Objects by storage key `group/plural`, then by `namespace/name`. */
export type StoredObjects = Map<string, Map<string, KubeObject>>;

/** One committed change in the log. `p` is the revision of the change before it, so a missing one is detected. */
export type LogRecord =
  | { rv: number; p: number; op: "put"; r: string; k: string; o: KubeObject }
  | { rv: number; p: number; op: "del"; r: string; k: string };

/** The state files beside `dataFile` (the snapshot): previous snapshot, temp file, log segments. */
export interface StateFiles {
  dir: string;
  snapshot: string;
  prev: string;
  tmp: string;
  /** Log segment holding changes from revision `startRv` on. */
  segment(startRv: number): string;
  /** Existing log segments, oldest first. */
  segments(): { startRv: number; path: string }[];
}

export function stateFiles(dataFile: string): StateFiles {
  const dir = dirname(dataFile);
  const base = basename(dataFile).replace(/\.json$/, "");
  const pattern = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d{16})\\.log$`);
  return {
    dir,
    snapshot: dataFile,
    prev: join(dir, `${base}.prev.json`),
    tmp: `${dataFile}.tmp`,
    segment: (startRv) => join(dir, `${base}.${String(startRv).padStart(16, "0")}.log`),
    segments: () =>
      existsSync(dir)
        ? readdirSync(dir)
            .map((f) => ({ f, m: pattern.exec(f) }))
            .filter((e) => e.m !== null)
            .map((e) => ({ startRv: Number(e.m![1]), path: join(dir, e.f) }))
            .sort((a, b) => a.startRv - b.startRv)
        : [],
  };
}

/** A state file that cannot be used; the message names the file, what is wrong and what to do. */
export class StateError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly remedy: string,
  ) {
    super(`${file}: ${problem}. ${remedy}`);
    this.name = "StateError";
  }
}

/** A damaged file found while reading; recovery turns it into a StateError with a remedy. */
class Damage extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** `<crc32 hex> <json>\n`: a line whose checksum does not match was changed or cut after it was written. */
export function encodeLine(value: unknown): string {
  const json = JSON.stringify(value);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

/** The value of one line (without its newline), or a reason why it is not a valid line. */
function decodeLine(line: string): { value: Record<string, unknown> } | { bad: string } {
  const space = line.indexOf(" ");
  if (space !== 8) return { bad: "not a checksummed record" };
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, "0") !== line.slice(0, 8)) return { bad: "checksum mismatch" };
  try {
    const value = JSON.parse(json) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return { value: value as Record<string, unknown> };
    return { bad: "not a JSON object" };
  } catch (err) {
    return { bad: `invalid JSON (${(err as Error).message})` };
  }
}

// ---- snapshots ----

/** A snapshot's header line. */
export interface SnapshotHeader extends Credentials {
  format: typeof SNAPSHOT_FORMAT;
  resourceVersion: number;
}

/** The lines of a snapshot, in chunks of about `chunkBytes` (so a writer can yield between them). */
export function* snapshotChunks(header: SnapshotHeader, data: StoredObjects, chunkBytes = 1 << 20): Generator<string> {
  let chunk = encodeLine(header);
  let count = 0;
  for (const [r, objects] of data) {
    for (const [k, o] of objects) {
      chunk += encodeLine({ r, k, o });
      count += 1;
      if (chunk.length >= chunkBytes) {
        yield chunk;
        chunk = "";
      }
    }
  }
  yield chunk + encodeLine({ end: true, objects: count });
}

/** A snapshot as read back. */
export interface Snapshot {
  /** Parts can be missing in the legacy format (then new ones are made). */
  credentials?: Partial<Credentials>;
  rv: number;
  objects: StoredObjects;
  legacy: boolean;
}

function put(objects: StoredObjects, r: string, k: string, o: KubeObject): void {
  let m = objects.get(r);
  if (!m) {
    m = new Map();
    objects.set(r, m);
  }
  m.set(k, o);
}

function objectKeyOf(o: KubeObject): string {
  return `${(o.metadata?.namespace as string | undefined) ?? ""}/${String(o.metadata?.name)}`;
}

/** The single-document snapshot of earlier versions. */
function readLegacySnapshot(path: string, text: string): Snapshot {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new Damage(path, `is not valid JSON (${(err as Error).message}); the file was cut short or changed`);
  }
  if (parsed.format !== LEGACY_FORMAT)
    throw new Damage(path, `is not a local API server state file (format ${String(parsed.format)})`);
  const objects: StoredObjects = new Map();
  for (const [r, list] of Object.entries(parsed.resources as Record<string, KubeObject[]>))
    for (const o of list) put(objects, r, objectKeyOf(o), o);
  const credentials = {
    token: parsed.token as string | undefined,
    certPem: parsed.certPem as string | undefined,
    keyPem: parsed.keyPem as string | undefined,
  };
  return { credentials, rv: parsed.resourceVersion as number, objects, legacy: true };
}

function readHeader(path: string, line: string | undefined): SnapshotHeader {
  const first = decodeLine(line ?? "");
  if ("bad" in first) throw new Damage(path, `its first line is damaged (${first.bad})`);
  const h = first.value as unknown as SnapshotHeader;
  if (h.format !== SNAPSHOT_FORMAT)
    throw new Damage(path, `is not a local API server state file (format ${String(h.format)})`);
  if (!Number.isInteger(h.resourceVersion)) throw new Damage(path, "its header has no resourceVersion");
  return h;
}

/** Reads a snapshot (current or legacy format); throws Damage when it is not complete and intact. */
function readSnapshot(path: string): Snapshot {
  const text = readFileSync(path, "utf8");
  if (text.startsWith("{")) return readLegacySnapshot(path, text);
  const lines = text.split("\n");
  const header = readHeader(path, lines[0]);
  const objects: StoredObjects = new Map();
  let count = 0;
  for (let i = 1; i < lines.length; i++) {
    const d = decodeLine(lines[i]!);
    if ("bad" in d) {
      const what = i === lines.length - 1 ? "is cut short" : `line ${i + 1} is damaged (${d.bad})`;
      throw new Damage(path, `${what} after ${count} objects`);
    }
    if (d.value.end === true) {
      if (d.value.objects !== count || lines.slice(i + 1).some((l) => l !== ""))
        throw new Damage(path, `its end record at line ${i + 1} does not match its content`);
      const { token, certPem, keyPem } = header;
      return { credentials: { token, certPem, keyPem }, rv: header.resourceVersion, objects, legacy: false };
    }
    put(objects, d.value.r as string, d.value.k as string, d.value.o as KubeObject);
    count += 1;
  }
  throw new Damage(path, `is cut short after ${count} objects (no end record)`);
}

// ---- log segments ----

interface SegmentRead {
  path: string;
  records: { rec: LogRecord; line: number }[];
  /** Bytes up to the end of the last intact record. */
  goodBytes: number;
  /** Bytes after it: a record cut by a crash mid-append (only allowed at the end of the last segment). */
  tornBytes: number;
}

function validRecord(v: Record<string, unknown>): v is LogRecord {
  const base = Number.isInteger(v.rv) && Number.isInteger(v.p) && typeof v.r === "string" && typeof v.k === "string";
  if (v.op === "put") return base && typeof v.o === "object" && v.o !== null;
  return base && v.op === "del";
}

/** Reads one segment; a damaged record followed by intact ones is Damage, damage only at the end is a torn tail. */
function readSegment(path: string): SegmentRead {
  const buf = readFileSync(path);
  const out: SegmentRead = { path, records: [], goodBytes: 0, tornBytes: 0 };
  let firstBad: { line: number; why: string } | undefined;
  let start = 0;
  for (let line = 1; start < buf.length; line++) {
    const nl = buf.indexOf(10, start);
    const end = nl < 0 ? buf.length : nl + 1;
    const d = nl < 0 ? { bad: "no line end" } : decodeLine(buf.toString("utf8", start, nl));
    if ("bad" in d) firstBad ??= { line, why: d.bad };
    else if (firstBad) throw new Damage(path, `record ${firstBad.line} is damaged (${firstBad.why})`);
    else if (!validRecord(d.value)) throw new Damage(path, `record ${line} is not a change record`);
    else {
      out.records.push({ rec: d.value, line });
      out.goodBytes = end;
    }
    start = end;
  }
  out.tornBytes = buf.length - out.goodBytes;
  return out;
}

/** Whether `rec` follows directly on what is applied (or, first after the snapshot, on something in it). */
function linked(rec: LogRecord, applied: number | undefined, snapshotRv: number): boolean {
  if (rec.rv <= rec.p) return false;
  return applied === undefined ? rec.p <= snapshotRv : rec.p === applied;
}

/** Applies the log over a snapshot; checks that no change after the snapshot is missing. Returns the last revision. */
function replay(snapshot: Snapshot, segments: SegmentRead[]): number {
  let applied: number | undefined;
  for (const seg of segments) {
    for (const { rec, line } of seg.records) {
      if (rec.rv <= snapshot.rv && rec.rv > rec.p) continue;
      if (!linked(rec, applied, snapshot.rv))
        throw new Damage(
          seg.path,
          `record ${line} (resourceVersion ${rec.rv}) follows ${rec.p}, but the state before it is at ${applied ?? snapshot.rv}: changes are missing`,
        );
      if (rec.op === "put") put(snapshot.objects, rec.r, rec.k, rec.o);
      else snapshot.objects.get(rec.r)?.delete(rec.k);
      applied = rec.rv;
    }
  }
  return applied ?? snapshot.rv;
}

// ---- recovery ----

/** What start-up recovered. */
export interface RecoveredState {
  credentials?: Partial<Credentials>;
  /** The revision to continue from (the last change in the log, or the snapshot's). */
  rv: number;
  objects: StoredObjects;
  /** Revision of the snapshot in `dataFile`; undefined when there is none or it is in the legacy format. */
  snapshotRv?: number;
  snapshotBytes: number;
  /** Log bytes after the snapshot (the next compaction counts from here). */
  logBytes: number;
}

function remedyFor(files: StateFiles, prevUsable: boolean): string {
  const reset = `or run \`npm start -- --reset-state\` (or SPOTOPT_RESET_STATE=1) to move the state files aside into ${files.dir}/reset-<time>/ and start empty`;
  if (prevUsable)
    return `The previous snapshot ${files.prev} is intact and the log holds every change since it: \`mv ${files.prev} ${files.snapshot}\` and start again (nothing is lost), ${reset}`;
  return `Restore the file from a copy if you have one, ${reset}`;
}

/** Loads the snapshot at `path` and replays the log over it. */
function recoverFrom(path: string, segments: SegmentRead[]): { snapshot: Snapshot; rv: number } {
  const snapshot = readSnapshot(path);
  return { snapshot, rv: replay(snapshot, segments) };
}

function prevUsable(files: StateFiles, segments: SegmentRead[]): boolean {
  if (!existsSync(files.prev)) return false;
  try {
    recoverFrom(files.prev, segments);
    return true;
  } catch {
    return false;
  }
}

function readSegments(files: StateFiles): SegmentRead[] {
  const all = files.segments();
  const reads: SegmentRead[] = [];
  for (const [i, s] of all.entries()) {
    const seg = readSegment(s.path);
    if (seg.tornBytes > 0 && i < all.length - 1)
      throw new Damage(s.path, `record ${seg.records.length + 1} is damaged and later log files follow it`);
    reads.push(seg);
  }
  return reads;
}

/** Drops a torn last record (a crash mid-append), with a warning, so that new records never follow it. */
function dropTornTail(segments: SegmentRead[], warn: (message: string) => void): void {
  const last = segments[segments.length - 1];
  if (!last || last.tornBytes === 0) return;
  truncateSync(last.path, last.goodBytes);
  warn(
    `${last.path}: dropped an incomplete last record (${last.tornBytes} bytes, cut by a crash while it was written; its write was never acknowledged)`,
  );
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/**
 * Reads the state under `dataFile`: the snapshot, then every logged change after it. Undefined when there is no state.
 * A damaged snapshot or log throws a StateError (nothing is changed on disk then); a torn last record is dropped.
 */
export function recoverState(dataFile: string, warn: (message: string) => void): RecoveredState | undefined {
  const files = stateFiles(dataFile);
  rmSync(files.tmp, { force: true });
  restrictStateFiles(files);
  const segments = asStateError(files, () => readSegments(files));
  if (!existsSync(files.snapshot)) {
    if (segments.length === 0 && !existsSync(files.prev)) return undefined;
    throw new StateError(
      files.snapshot,
      "is missing but other state files are there",
      remedyFor(files, prevUsable(files, segments)),
    );
  }
  const { snapshot, rv } = asStateError(files, () => recoverFrom(files.snapshot, segments), segments);
  dropTornTail(segments, warn);
  return {
    credentials: snapshot.credentials,
    rv,
    objects: snapshot.objects,
    snapshotRv: snapshot.legacy ? undefined : snapshot.rv,
    snapshotBytes: sizeOf(files.snapshot),
    logBytes: segments.reduce((n, s) => n + s.goodBytes, 0),
  };
}

/** Runs `read`, turning Damage into a StateError whose remedy says whether the previous snapshot can take over. */
function asStateError<T>(files: StateFiles, read: () => T, segments?: SegmentRead[]): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof Damage)) throw err;
    const usable = segments !== undefined && err.file === files.snapshot && prevUsable(files, segments);
    throw new StateError(err.file, err.problem, remedyFor(files, usable));
  }
}

// ---- permissions and reset ----

/** Makes `dir` (created if needed) accessible to its owner only; refuses a shared directory such as /tmp. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if ((st.mode & 0o777) === 0o700) return;
  if (st.mode & 0o1000)
    throw new Error(
      `${dir} is a shared directory (sticky bit); give the local API server state a directory of its own`,
    );
  chmodSync(dir, 0o700);
}

/** Every state file readable and writable by its owner only (they hold the token, the serving key and Secrets). */
function restrictStateFiles(files: StateFiles): void {
  const paths = [files.snapshot, files.prev, ...files.segments().map((s) => s.path)];
  for (const p of paths) if (existsSync(p) && (statSync(p).mode & 0o777) !== 0o600) chmodSync(p, 0o600);
}

/** Moves every state file under `dataFile` into `<dir>/reset-<time>/` (nothing is deleted); returns it, or undefined. */
export function resetState(dataFile: string, now = new Date()): string | undefined {
  const files = stateFiles(dataFile);
  const paths = [files.snapshot, files.prev, files.tmp, ...files.segments().map((s) => s.path)].filter((p) =>
    existsSync(p),
  );
  if (paths.length === 0) return undefined;
  const aside = join(files.dir, `reset-${now.toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(aside, { recursive: true, mode: 0o700 });
  for (const p of paths) renameSync(p, join(aside, basename(p)));
  return aside;
}
