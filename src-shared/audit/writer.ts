// Appends AuditEntry CRs to a namespace's hash chain (safe with concurrent writers), reads the chain back, applies retention.
import { API_VERSION } from "../crds/common.js";
import { isConflict, type KubeClient, type KubeObject } from "../kube/client.js";
import {
  buildEntry,
  computeEntryHash,
  entryName,
  GENESIS_ANCHOR,
  type ChainAnchor,
  type HeadRebuild,
} from "./chain.js";
import type { AuditInput, AuditOutcome, AuditRecord, AuditWriter } from "./types.js";

/** Per-namespace ConfigMap caching the chain head and holding the retention anchor and policy. */
export const AUDIT_HEAD_CONFIGMAP = "spot-optimizer-audit-head";
/** Label on every head ConfigMap, so that `kubectl get configmaps -A -l` finds the chains. */
export const AUDIT_HEAD_LABEL = "spotoptimizer.io/audit-head";
/** Annotation holding an entry's hash, written in the same create as its spec. */
export const AUDIT_HASH_ANNOTATION = "spotoptimizer.io/hash";
/**
 * Annotation with the retention policy in force when the entry was written (days, or "none"), so a head ConfigMap
 * rebuilt from the entries gets it back from the newest one instead of silently keeping everything.
 */
export const AUDIT_RETENTION_ANNOTATION = "spotoptimizer.io/retention-days";

/** Days; undefined when no policy is set (entries are kept); "unknown" when a rebuilt head could not recover it. */
export type RetentionPolicy = number | "unknown" | undefined;

export interface ChainHeadState {
  head: ChainAnchor;
  /** The last entry removed by retention ({-1, ""} when none was). Entries at or below it are not part of the chain. */
  anchor: ChainAnchor;
  retentionDays: RetentionPolicy;
  /** Set when the ConfigMap was rebuilt from the entries; kept by every later update, so it is never forgotten. */
  rebuilt?: HeadRebuild;
}

interface AuditEntryObject extends KubeObject {
  spec?: {
    actor?: string;
    event?: string;
    resource?: string;
    outcome?: AuditOutcome;
    timestamp?: string;
    sequence?: number;
    before?: Record<string, unknown>;
    after?: Record<string, unknown>;
    prevHash?: string;
  };
  status?: { hash?: string };
}

interface HeadConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const ENTRY = { apiVersion: API_VERSION, kind: "AuditEntry" } as const;
const CONFIGMAP = { apiVersion: "v1", kind: "ConfigMap" } as const;

/**
 * The entry's stored hash, or "" when it has none. It is never re-computed from the spec here: that would accept any
 * edit whose author also removed the hash. The writer stores it with the spec in one create, so no crash leaves an
 * entry of ours without one; status.hash is where entries written before that kept it.
 */
function storedHash(obj: AuditEntryObject): string {
  return obj.metadata?.annotations?.[AUDIT_HASH_ANNOTATION] || obj.status?.hash || "";
}

/** The chain view of a stored AuditEntry; `hash` is "" when it has none stored (verification reports it). */
export function recordFromObject(obj: AuditEntryObject): AuditRecord {
  const spec = {
    actor: "",
    event: "",
    resource: "",
    outcome: "success" as AuditOutcome,
    timestamp: "",
    sequence: -1,
    prevHash: "",
    ...obj.spec,
  };
  const base = {
    id: obj.metadata?.name ?? "",
    namespace: obj.metadata?.namespace ?? "",
    seq: spec.sequence,
    timestamp: spec.timestamp,
    actor: spec.actor,
    event: spec.event,
    resource: spec.resource,
    outcome: spec.outcome,
    before: spec.before ?? null,
    after: spec.after ?? null,
    prevHash: spec.prevHash,
  };
  return { ...base, hash: storedHash(obj) };
}

function retentionText(policy: RetentionPolicy): string {
  return policy === undefined ? "none" : String(policy);
}

/** The policy an annotation (or a ConfigMap value) names; "unknown" for anything absent or unreadable. */
function parseRetention(text: string | undefined): RetentionPolicy {
  if (text === "none") return undefined;
  const days = Number(text);
  return text !== undefined && /^\d+$/.test(text) && days > 0 ? days : "unknown";
}

function objectFromRecord(record: AuditRecord, retention: RetentionPolicy): AuditEntryObject {
  const spec: AuditEntryObject["spec"] = {
    actor: record.actor,
    event: record.event,
    resource: record.resource,
    outcome: record.outcome,
    timestamp: record.timestamp,
    sequence: record.seq,
    prevHash: record.prevHash,
  };
  // The CRD stores before/after as objects and has no null: absent reads back as null (see recordFromObject).
  if (record.before !== null) spec.before = record.before as Record<string, unknown>;
  if (record.after !== null) spec.after = record.after as Record<string, unknown>;
  return {
    ...ENTRY,
    metadata: {
      name: record.id,
      namespace: record.namespace,
      labels: { "app.kubernetes.io/managed-by": "spot-optimizer" },
      annotations: { [AUDIT_HASH_ANNOTATION]: record.hash, [AUDIT_RETENTION_ANNOTATION]: retentionText(retention) },
    },
    spec,
  };
}

function anchorFrom(data: Record<string, string>, prefix: string): ChainAnchor {
  const sequence = Number(data[`${prefix}Sequence`]);
  return Number.isInteger(sequence) ? { sequence, hash: data[`${prefix}Hash`] ?? "" } : GENESIS_ANCHOR;
}

function rebuiltFrom(data: Record<string, string>): HeadRebuild | undefined {
  if (data.rebuiltAt === undefined) return undefined;
  const entries = Number(data.rebuiltEntries);
  // A mark whose details were damaged still marks the chain rebuilt: -1 / "" say the head it came from is not known.
  const { sequence, hash } = anchorFrom(data, "rebuilt");
  return { at: data.rebuiltAt, sequence, hash, entries: Number.isInteger(entries) ? entries : 0 };
}

function headState(cm: HeadConfigMap | undefined): ChainHeadState {
  const data = cm?.data ?? {};
  const rebuilt = rebuiltFrom(data);
  return {
    head: anchorFrom(data, "head"),
    anchor: anchorFrom(data, "anchor"),
    retentionDays: data.retentionDays === undefined ? undefined : parseRetention(data.retentionDays),
    ...(rebuilt ? { rebuilt } : {}),
  };
}

function headData(state: ChainHeadState): Record<string, string> {
  const data: Record<string, string> = {
    headSequence: String(state.head.sequence),
    headHash: state.head.hash,
    anchorSequence: String(state.anchor.sequence),
    anchorHash: state.anchor.hash,
  };
  if (state.retentionDays !== undefined) data.retentionDays = String(state.retentionDays);
  if (state.rebuilt) {
    data.rebuiltAt = state.rebuilt.at ?? "";
    data.rebuiltSequence = String(state.rebuilt.sequence);
    data.rebuiltHash = state.rebuilt.hash;
    data.rebuiltEntries = String(state.rebuilt.entries);
  }
  return data;
}

const later = (a: ChainAnchor, b: ChainAnchor): ChainAnchor => (b.sequence > a.sequence ? b : a);

/** A namespace's chain as stored, with the head ConfigMap's recorded head when the ConfigMap exists. */
export interface StoredChain {
  anchor: ChainAnchor;
  entries: AuditRecord[];
  /** The newest entry stored (read after the head ConfigMap where that is ahead of `entries`), else the anchor. */
  storedHead: ChainAnchor;
  recordedHead?: ChainAnchor;
  /** The head ConfigMap was rebuilt (its mark), or is missing now (`at: null`); absent for a head never lost. */
  rebuilt?: HeadRebuild;
  /** The stored retention policy (for a missing ConfigMap, the one the newest entry was written under). */
  retentionDays: RetentionPolicy;
}

export interface AuditChainStore extends AuditWriter {
  /** The head ConfigMap's view (may lag the newest entry by one failed best-effort update). */
  readHead(namespace: string): Promise<ChainHeadState>;
  /** Every entry after the retention anchor, ascending; one live LIST (exports must be complete). */
  readChain(namespace: string): Promise<StoredChain>;
  /** Read-modify-write of the head ConfigMap with resourceVersion (retried on 409). */
  updateHead(namespace: string, change: (state: ChainHeadState) => ChainHeadState): Promise<ChainHeadState>;
  /** Removes entries older than `cutoff` (never the newest), moving the anchor first so the rest still verifies. */
  applyRetention(namespace: string, cutoff: Date): Promise<{ removed: number; anchor: ChainAnchor }>;
  /**
   * Applies the stored retention policy (PATCH /audit/retention) of each chain in `namespaces` (a namespace without a
   * chain is skipped); returns entries removed per namespace.
   */
  sweepRetention(namespaces: readonly string[]): Promise<Record<string, number>>;
}

export interface AuditWriterOptions {
  client: KubeClient;
  now?: () => Date;
}

/** What the chain store's functions reach Kubernetes and the clock through. */
interface ChainStore {
  client: AuditWriterOptions["client"];
  now: () => Date;
}

function readHeadObject(store: ChainStore, namespace: string): Promise<HeadConfigMap | undefined> {
  return store.client.getIfExists<HeadConfigMap>({ ...CONFIGMAP, namespace, name: AUDIT_HEAD_CONFIGMAP });
}

/** The namespace's stored entries, and the retention policy the newest one was written under. */
interface ListedEntries {
  records: AuditRecord[];
  newestRetention: RetentionPolicy;
}

/** Every stored entry of the namespace (including any retention left at or below its anchor), ascending. */
async function listRecords(store: ChainStore, namespace: string): Promise<ListedEntries> {
  const list = await store.client.listAll<AuditEntryObject>({ ...ENTRY, namespace });
  const items = list.items.sort((a, b) => (a.spec?.sequence ?? -1) - (b.spec?.sequence ?? -1));
  const newest = items[items.length - 1];
  return {
    records: items.map(recordFromObject),
    newestRetention: newest ? parseRetention(newest.metadata?.annotations?.[AUDIT_RETENTION_ANNOTATION]) : undefined,
  };
}

/** The link a new entry chains onto; an entry whose hash was removed is chained by its content (it stays reported). */
const linkOf = (record: AuditRecord): ChainAnchor => ({
  sequence: record.seq,
  hash: record.hash || computeEntryHash(record),
});

/**
 * The head state as the entries themselves show it, for a namespace whose head ConfigMap is gone: the newest entry
 * is the head, the oldest one kept names the anchor it chains onto (its sequence - 1 and its prevHash), and the
 * newest one's annotation the retention policy. A chain with entries is marked rebuilt (`at`: now, or null for a
 * read that writes nothing): nothing outside the entries vouches for them any more. An empty one is a new chain.
 */
function stateFromRecords(listed: ListedEntries, at: string | null): ChainHeadState {
  const { records } = listed;
  const lowest = records[0];
  const highest = records[records.length - 1];
  if (!lowest || !highest) return { head: GENESIS_ANCHOR, anchor: GENESIS_ANCHOR, retentionDays: undefined };
  const head = linkOf(highest);
  return {
    head,
    anchor: { sequence: lowest.seq - 1, hash: lowest.prevHash },
    retentionDays: listed.newestRetention,
    rebuilt: { at, sequence: head.sequence, hash: head.hash, entries: records.length },
  };
}

/**
 * The head ConfigMap's state, or the state rebuilt from a LIST of the entries when the ConfigMap is gone. `missing`:
 * what the caller itself found when it began without a ConfigMap (an append); its rebuild mark (none for an empty
 * chain: its first entry is ours) is the one to record, not one taken after our own entry was added.
 */
async function currentState(
  store: ChainStore,
  namespace: string,
  found: { cm: HeadConfigMap | undefined; missing?: ChainHeadState | undefined },
): Promise<ChainHeadState> {
  if (found.cm) return headState(found.cm);
  const listed = stateFromRecords(await listRecords(store, namespace), store.now().toISOString());
  if (!found.missing) return listed;
  const { rebuilt: _ours, ...rest } = listed;
  return found.missing.rebuilt ? { ...rest, rebuilt: found.missing.rebuilt } : rest;
}

async function updateHead(
  store: ChainStore,
  namespace: string,
  change: (state: ChainHeadState) => ChainHeadState,
  missing?: ChainHeadState,
): Promise<ChainHeadState> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cm = await readHeadObject(store, namespace);
    // A lost ConfigMap is recreated from the entries, so the anchor of a trimmed chain is not reset to genesis.
    const state = await currentState(store, namespace, { cm, missing });
    // The rebuild mark outlives every change: a chain once rebuilt must never read as intact again.
    const next = state.rebuilt ? { ...change(state), rebuilt: state.rebuilt } : change(state);
    try {
      if (cm) await store.client.replace<HeadConfigMap>({ ...cm, ...CONFIGMAP, data: headData(next) });
      else {
        const metadata = { name: AUDIT_HEAD_CONFIGMAP, namespace, labels: { [AUDIT_HEAD_LABEL]: "true" } };
        await store.client.create<HeadConfigMap>({ ...CONFIGMAP, metadata, data: headData(next) });
      }
      return next;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(`audit head of ${namespace} kept changing under us`);
}

/**
 * Moves the head past `record`; answers the state it found (undefined when the best-effort update failed).
 * `missing`: the state the append rebuilt when it found no ConfigMap (see currentState).
 */
async function advanceHead(
  store: ChainStore,
  record: AuditRecord,
  missing: ChainHeadState | undefined,
): Promise<ChainHeadState | undefined> {
  let found: ChainHeadState | undefined;
  await updateHead(
    store,
    record.namespace,
    (s) => {
      found = s;
      return { ...s, head: later(s.head, linkOf(record)) };
    },
    missing,
  ).catch(() => undefined);
  return found;
}

/**
 * Where to chain after another writer took `lost`'s sequence number. The first loss of an append is the ordinary
 * race of two writers: chain onto the winner. A second one means the head hint is behind by more than one entry
 * (a lost or stale ConfigMap), so the newest entry is looked up with one LIST instead of walking one 409 at a time.
 */
async function afterConflict(
  store: ChainStore,
  lost: AuditRecord,
  context: { conflicts: number; anchor: ChainAnchor },
): Promise<ChainAnchor> {
  if (context.conflicts > 1) {
    return later(stateFromRecords(await listRecords(store, lost.namespace), null).head, context.anchor);
  }
  const winner = await store.client.getIfExists<AuditEntryObject>({
    ...ENTRY,
    namespace: lost.namespace,
    name: lost.id,
  });
  return winner ? linkOf(recordFromObject(winner)) : { sequence: lost.seq - 1, hash: lost.prevHash };
}

async function append(store: ChainStore, input: AuditInput): Promise<AuditRecord> {
  const cm = await readHeadObject(store, input.namespace);
  const state = await currentState(store, input.namespace, { cm });
  const missing = cm ? undefined : state;
  let previous = later(state.head, state.anchor);
  let conflicts = 0;
  for (let attempt = 0; attempt < 50; attempt++) {
    const record = buildEntry(input, previous, store.now().toISOString());
    try {
      await store.client.create<AuditEntryObject>(objectFromRecord(record, state.retentionDays));
    } catch (err) {
      if (!isConflict(err)) throw err;
      conflicts++;
      previous = await afterConflict(store, record, { conflicts, anchor: state.anchor });
      continue;
    }
    const found = await advanceHead(store, record, missing);
    if (!found || found.anchor.sequence < record.seq) return record;
    // Retention moved the anchor past us while we walked a stale hint: our entry sits where readers no longer
    // look. Take it back and append after the real head instead.
    await store.client.delete({ ...ENTRY, namespace: input.namespace, name: record.id });
    previous = later(found.head, found.anchor);
  }
  throw new Error(`could not append to the audit chain of ${input.namespace}`);
}

async function readChain(store: ChainStore, namespace: string): Promise<StoredChain> {
  // LIST before reading the anchor: retention moves the anchor before it deletes, so this order never sees a gap.
  const listed = await listRecords(store, namespace);
  const cm = await readHeadObject(store, namespace);
  // Without the ConfigMap the state is the one its rebuild would give, and no head was recorded.
  const { anchor, head, rebuilt, retentionDays } = cm ? headState(cm) : stateFromRecords(listed, null);
  const entries = listed.records.filter((r) => r.seq > anchor.sequence);
  let storedHead = newestLink(listed.records, anchor);
  // An append between the two reads stored its entry before it moved the head: a LIST now holds that entry unless
  // it was deleted, so the recorded head is not taken for entries deleted from the end.
  if (cm && head.sequence > storedHead.sequence)
    storedHead = later(storedHead, newestLink((await listRecords(store, namespace)).records, anchor));
  return {
    anchor,
    entries,
    retentionDays,
    storedHead,
    ...(cm ? { recordedHead: head } : {}),
    ...(rebuilt ? { rebuilt } : {}),
  };
}

/** The newest of these entries as a link, or `anchor` when there is none after it. */
function newestLink(records: AuditRecord[], anchor: ChainAnchor): ChainAnchor {
  return records.reduce((best, r) => later(best, linkOf(r)), anchor);
}

async function applyRetention(
  store: ChainStore,
  namespace: string,
  cutoff: Date,
): Promise<{ removed: number; anchor: ChainAnchor }> {
  const { anchor, entries } = await readChain(store, namespace);
  const cutoffMs = cutoff.getTime();
  let keepFrom = 0;
  // Only a contiguous prefix, and never the newest entry: writers chain onto it.
  while (keepFrom < entries.length - 1 && Date.parse(entries[keepFrom]!.timestamp) < cutoffMs) keepFrom++;
  if (keepFrom === 0) return { removed: 0, anchor };
  const last = entries[keepFrom - 1]!;
  const newAnchor = { sequence: last.seq, hash: last.hash };
  await updateHead(store, namespace, (s) => ({
    ...s,
    anchor: later(s.anchor, newAnchor),
    head: later(s.head, newAnchor),
  }));
  for (const entry of entries.slice(0, keepFrom)) {
    await store.client.delete({ ...ENTRY, namespace, name: entry.id });
  }
  return { removed: keepFrom, anchor: newAnchor };
}

/** Each head is read by name: a list by label would need every ConfigMap of the cluster readable. */
async function sweepRetention(store: ChainStore, namespaces: readonly string[]): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const namespace of new Set(namespaces)) {
    const cm = await readHeadObject(store, namespace);
    if (!cm) continue;
    const { retentionDays } = headState(cm);
    // An unknown policy (a rebuilt head) removes nothing: guessing one could delete what was meant to be kept.
    if (typeof retentionDays !== "number") continue;
    removed[namespace] = (
      await applyRetention(store, namespace, new Date(store.now().getTime() - retentionDays * 86_400_000))
    ).removed;
  }
  return removed;
}

/**
 * Concurrency: the entry's object name is derived from its sequence number, so the API server's
 * AlreadyExists (409) on create is the lock. A writer that loses reads the winner, chains onto it and
 * tries the next number. The head ConfigMap is only a starting hint (plus the retention anchor), so
 * a crash between creating an entry and updating the head never leaves a gap.
 */
export function createAuditChainStore(options: AuditWriterOptions): AuditChainStore {
  const store: ChainStore = { client: options.client, now: options.now ?? ((): Date => new Date()) };
  const queues = new Map<string, Promise<unknown>>();

  return {
    record(input) {
      // Serialise this process's writes per namespace; other processes are handled by the name lock.
      const prev = queues.get(input.namespace) ?? Promise.resolve();
      const next = prev.catch(() => undefined).then(() => append(store, input));
      queues.set(input.namespace, next);
      void next
        .finally(() => {
          if (queues.get(input.namespace) === next) queues.delete(input.namespace);
        })
        .catch(() => undefined);
      return next;
    },
    readHead: async (namespace) => headState(await readHeadObject(store, namespace)),
    readChain: (namespace) => readChain(store, namespace),
    updateHead: (namespace, change) => updateHead(store, namespace, change),
    applyRetention: (namespace, cutoff) => applyRetention(store, namespace, cutoff),
    sweepRetention: (namespaces) => sweepRetention(store, namespaces),
  };
}

export { entryName };
