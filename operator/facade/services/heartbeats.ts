// Agent heartbeats with coalesced writes: a Lease per cluster for liveness (renewed at most every few seconds) and a
// snapshot ConfigMap (nodes, pods, objects) at most once per status interval, both in the release namespace; the
// operator turns the snapshot into ManagedCluster.status. Interruptions become audit entries once each, whichever replica a heartbeat reaches.
import {
  isSpotInterruption,
  NODE_NOTICE_EVENT,
  NOTICE_MAX_AHEAD_MS,
  MAX_NOTICES_PER_HEARTBEAT,
  NOTICE_WINDOW_MS,
  SPOT_INTERRUPTION_EVENT,
} from "../../../src-shared/agent/notice-kinds.js";
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { AuditWriter } from "../../../src-shared/audit/types.js";
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import { isConflict, type KubeClient } from "../../../src-shared/kube/index.js";
import type { Heartbeat, HeartbeatInterruption } from "../../../src-shared/agent/protocol.js";
import { PayloadTooLargeError } from "../errors.js";
import { createNoticeBudget, type NoticeBudget, type NoticeCandidate } from "./notice-budget.js";
import { agentObjectMarks } from "../../../src-shared/agent/placement.js";
import {
  AGENT_LEASE_LABEL,
  DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
  MISSED_BEATS,
  CONFIGMAP_MAX_BYTES,
  snapshotBinaryData,
  SNAPSHOT_LABEL,
  agentLeaseName,
  microTime,
  snapshotConfigMapName,
  type ClusterSnapshot,
} from "../../../src-shared/agent/snapshot.js";

export const HEARTBEAT_FIELD_MANAGER = "spot-optimizer-facade-heartbeat";
/** Kinds of notice recorded per node while it is reported (an agent sends each kind once; there are a handful). */
const NOTICE_KINDS_PER_NODE = 8;

export interface HeartbeatIngestOptions {
  client: KubeClient;
  audit: AuditWriter;
  /** Where the Leases and snapshots go (the release namespace: the facade writes nothing in organisation namespaces). */
  releaseNamespace: string;
  now: () => Date;
  statusIntervalMs: number;
  leaseRenewMs: number;
  /** Where the clusters' notice budgets are kept (the facade's own namespace); shared by all replicas. */
  noticeNamespace: string;
  /**
   * The AuditEntries of a namespace as this replica's cache holds them: notices other replicas recorded (a retried
   * heartbeat may reach any replica), so a notice recorded long ago costs no API call. Without it, the notice claims
   * of the shared budget (kept an hour) and this replica's memory dedupe.
   */
  recordedEntries?: (namespace: string) => readonly RecordedEntryView[];
  logger?: Logger;
}

/** The parts of an AuditEntry the notice dedupe reads. */
export interface RecordedEntryView {
  spec: { resource: string; after?: unknown };
}

interface ClusterState {
  leaseRenewedMs: number;
  /** The interval the Lease last renewed here was written with: a new one is written at once, not at the next renewal. */
  leaseIntervalS?: number;
  snapshotWrittenMs: number;
  /** Digest of the reported objects in the last snapshot written (what hibernation plans a remote cluster with). */
  objectsDigest?: string;
  /** The last report, not written yet because the interval had not passed: written when it has (or at close). */
  pending?: PendingSnapshot;
  flushTimer?: NodeJS.Timeout;
  /** The flush the timer started, awaited at close. */
  flushing?: Promise<void>;
  /** Snapshots written by beats here: a flush that sees this move since its read stands down. */
  writes: number;
  /** Notice kinds recorded per node (an agent reports each once while the node exists; this absorbs retried posts). */
  noticed: Map<string, Set<string>>;
  /** The node names of the last heartbeat (a notice may name a node gone since). */
  lastNodes: string[];
  /** Ids of notices of nodes not reported that no replica had claimed (made up, or never admitted): skipped. */
  unclaimed: Set<string>;
}

interface PendingSnapshot {
  cluster: ManagedCluster;
  stored: () => ReturnType<typeof snapshotBinaryData>;
  digest: string;
  receivedAtMs: number;
}

/** Bounds the memory of unclaimed notices per cluster; a cleared set costs one more lookup per notice. */
const MAX_UNCLAIMED = 1000;

function rememberUnclaimed(state: ClusterState, id: string): void {
  if (state.unclaimed.size >= MAX_UNCLAIMED) state.unclaimed.clear();
  state.unclaimed.add(id);
}

export interface IngestResult {
  receivedAt: Date;
  intervalS: number;
  /** Notices of this beat another replica is recording: the agent keeps them and sends them again. */
  deferred: HeartbeatInterruption[];
}

export interface HeartbeatIngest {
  ingest(input: { cluster: ManagedCluster; heartbeat: Heartbeat }): Promise<IngestResult>;
  /** Counts of writes by kind since start (the heartbeat benchmark reports them). */
  writes(): { leases: number; snapshots: number };
  /** Writes the reports the interval kept back, and stops waiting for it (at shutdown). */
  close(): Promise<void>;
}

function normalized(heartbeat: Heartbeat, receivedAt: Date): ClusterSnapshot {
  const byName = <T extends { name: string }>(a: T, b: T): number => a.name.localeCompare(b.name);
  const snapshot: ClusterSnapshot = {
    receivedAt: receivedAt.toISOString(),
    agentVersion: heartbeat.agent_version,
    k8sVersion: heartbeat.k8s_version,
    heartbeatIntervalSeconds: heartbeat.heartbeat_interval_seconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
    nodes: [...heartbeat.nodes].sort(byName),
    pods: [...heartbeat.pods].sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) || a.cpu_millicores - b.cpu_millicores || a.memory_mib - b.memory_mib,
    ),
  };
  if (heartbeat.objects) snapshot.objects = heartbeat.objects;
  return snapshot;
}

/** "v1.31.4-eks-2d5f260" -> "1.31.4"; undefined when no version number is in it. */
export function k8sVersionOf(reported: string): string | undefined {
  return /^v?(\d+\.\d+(\.\d+)?)/.exec(reported)?.[1];
}

/**
 * The reported objects without their resourceVersions: changes only when a replica count, suspend flag, limit, our
 * annotation or the set of objects changes, not with every status update of a Deployment.
 */
export function objectsDigest(objects: Heartbeat["objects"]): string {
  const stripped = (objects ?? []).map(({ resource_version: _rv, ...rest }) => rest);
  return createHash("sha256").update(JSON.stringify(stripped)).digest("hex");
}

function interruptionKey(i: HeartbeatInterruption): string {
  return `${i.node}|${i.at}|${i.kind}`;
}

/** A notice's identity, recorded as the entry's `after.id`: the same notice re-sent has the same one. */
export function noticeId(i: HeartbeatInterruption): string {
  return createHash("sha256").update(interruptionKey(i)).digest("hex").slice(0, 16);
}

/**
 * The identities of the notices already recorded for a cluster's nodes, by any replica. Read from the cache, and only
 * once a heartbeat brings a notice this replica has not seen, so a beat without news scans nothing.
 */
function recordedNoticeIds(ctx: IngestContext, cluster: ManagedCluster): Set<string> {
  const prefix = `cluster/${cluster.metadata.name ?? ""}/node/`;
  const ids = new Set<string>();
  for (const entry of ctx.opts.recordedEntries?.(cluster.metadata.namespace ?? "") ?? []) {
    const id = (entry.spec.after as { id?: unknown } | undefined)?.id;
    if (entry.spec.resource.startsWith(prefix) && typeof id === "string") ids.add(id);
  }
  return ids;
}

/** One ingest's options and what it remembers per cluster between beats. */
interface IngestContext {
  opts: HeartbeatIngestOptions;
  states: Map<string, ClusterState>;
  counts: { leases: number; snapshots: number };
  budget: NoticeBudget;
  /** Set at close: no flush timer is armed after it. */
  closed?: boolean;
}

type IngestInput = Parameters<HeartbeatIngest["ingest"]>[0];

function stateOf(ctx: IngestContext, key: string): ClusterState {
  let state = ctx.states.get(key);
  if (!state)
    ctx.states.set(
      key,
      (state = {
        leaseRenewedMs: -Infinity,
        snapshotWrittenMs: -Infinity,
        noticed: new Map(),
        lastNodes: [],
        unclaimed: new Set(),
        writes: 0,
      }),
    );
  return state;
}

/**
 * The metadata of a cluster's Lease or snapshot: in the release namespace, labelled with its organisation, cluster and
 * the cluster's uid, the full names annotated (no owner reference can cross namespaces; the facade's sweep removes
 * those of a cluster gone).
 */
function agentObjectMetadata(
  ctx: IngestContext,
  cluster: ManagedCluster,
  object: { name: string; label: string },
): { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const owner = { namespace: cluster.metadata.namespace ?? "", cluster: cluster.metadata.name ?? "" };
  const marks = agentObjectMarks({ ...owner, uid: cluster.metadata.uid });
  return {
    name: object.name,
    namespace: ctx.opts.releaseNamespace,
    labels: { [object.label]: "true", ...marks.labels },
    annotations: marks.annotations,
  };
}

async function renewLease(ctx: IngestContext, cluster: ManagedCluster, at: Date, intervalS: number): Promise<void> {
  const name = cluster.metadata.name ?? "";
  const leaseName = agentLeaseName(cluster.metadata.namespace ?? "", name);
  await ctx.opts.client.patch(
    { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: ctx.opts.releaseNamespace, name: leaseName },
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: agentObjectMetadata(ctx, cluster, { name: leaseName, label: AGENT_LEASE_LABEL }),
      spec: {
        holderIdentity: `agent/${name}`,
        leaseDurationSeconds: MISSED_BEATS * intervalS,
        renewTime: microTime(at),
      },
    },
    { type: "apply", fieldManager: HEARTBEAT_FIELD_MANAGER, force: true },
  );
  ctx.counts.leases++;
}

/** When the report a snapshot ConfigMap holds was received (ms), so that a report kept back is never written over a newer one. */
const RECEIVED_AT_ANNOTATION = "spotoptimizer.io/received-at-ms";

function snapshotRef(
  ctx: IngestContext,
  cluster: ManagedCluster,
): { apiVersion: string; kind: string; namespace: string; name: string } {
  const name = snapshotConfigMapName(cluster.metadata.namespace ?? "", cluster.metadata.name ?? "");
  return { apiVersion: "v1", kind: "ConfigMap", namespace: ctx.opts.releaseNamespace, name };
}

async function writeSnapshot(
  ctx: IngestContext,
  cluster: ManagedCluster,
  report: { stored: ReturnType<typeof snapshotBinaryData>; receivedAtMs: number; ifResourceVersion?: string },
): Promise<void> {
  const ref = snapshotRef(ctx, cluster);
  const metadata: Record<string, unknown> & { annotations: Record<string, string> } = agentObjectMetadata(
    ctx,
    cluster,
    {
      name: ref.name,
      label: SNAPSHOT_LABEL,
    },
  );
  metadata.annotations = { ...metadata.annotations, [RECEIVED_AT_ANNOTATION]: String(report.receivedAtMs) };
  // A precondition: the write fails (409) when anyone stored another report since that version was read.
  if (report.ifResourceVersion !== undefined) metadata.resourceVersion = report.ifResourceVersion;
  await ctx.opts.client.patch(
    ref,
    { apiVersion: "v1", kind: "ConfigMap", metadata, binaryData: report.stored.binaryData },
    { type: "apply", fieldManager: HEARTBEAT_FIELD_MANAGER, force: true },
  );
  ctx.counts.snapshots++;
}

/**
 * At most once per status interval; sooner (but not more often than the Lease) when the objects changed, so a remote
 * cluster's hibernation sees the outcome of its AgentActions within a beat or two.
 */
async function maybeWriteSnapshot(
  ctx: IngestContext,
  input: IngestInput & { stored: () => ReturnType<typeof snapshotBinaryData> },
  state: ClusterState,
  at: Date,
): Promise<void> {
  const nowMs = at.getTime();
  const digest = objectsDigest(input.heartbeat.objects);
  const sinceWrittenMs = nowMs - state.snapshotWrittenMs;
  if (
    sinceWrittenMs >= ctx.opts.statusIntervalMs ||
    (digest !== state.objectsDigest && sinceWrittenMs >= ctx.opts.leaseRenewMs)
  ) {
    stopFlushTimer(state);
    state.pending = undefined;
    state.writes++;
    await writeSnapshot(ctx, input.cluster, { stored: input.stored(), receivedAtMs: nowMs });
    state.snapshotWrittenMs = nowMs;
    state.objectsDigest = digest;
    return;
  }
  // Kept, so that the last report before an agent goes quiet is what its cluster shows, not the one before it.
  state.pending = { cluster: input.cluster, stored: input.stored, digest, receivedAtMs: nowMs };
  if (ctx.closed) return;
  state.flushTimer ??= setTimeout(() => {
    state.flushing = flushPending(ctx, state);
  }, ctx.opts.statusIntervalMs - sinceWrittenMs).unref();
}

function stopFlushTimer(state: ClusterState): void {
  clearTimeout(state.flushTimer);
  state.flushTimer = undefined;
}

/** The stored snapshot's version, or null when it holds a report at least as late as `pending` (nothing to write). */
async function storedBefore(ctx: IngestContext, pending: PendingSnapshot): Promise<{ version?: string } | null> {
  const current = await ctx.opts.client.getIfExists(snapshotRef(ctx, pending.cluster));
  const storedAtMs = Number(current?.metadata?.annotations?.[RECEIVED_AT_ANNOTATION] ?? 0);
  if (storedAtMs >= pending.receivedAtMs) return null;
  const version = current?.metadata?.resourceVersion;
  return version ? { version } : {};
}

/** Writes the report kept back by the interval, if no later beat has written one since. */
async function flushPending(ctx: IngestContext, state: ClusterState): Promise<void> {
  state.flushTimer = undefined;
  const pending = state.pending;
  if (pending === undefined) return;
  state.pending = undefined;
  const writesBefore = state.writes;
  try {
    // Another replica may have stored a later beat of the same agent meanwhile, or a beat here since the read.
    const stored = await storedBefore(ctx, pending);
    if (stored === null || state.writes !== writesBefore) return;
    const report = { stored: pending.stored(), receivedAtMs: pending.receivedAtMs, ifResourceVersion: stored.version };
    await writeSnapshot(ctx, pending.cluster, report);
    state.snapshotWrittenMs = ctx.opts.now().getTime();
    state.objectsDigest = pending.digest;
  } catch (err) {
    // a 409: a later report was stored meanwhile, which is what the cluster should show
    if (!isConflict(err))
      ctx.opts.logger?.warn({ err, cluster: pending.cluster.metadata.name }, "Heartbeat snapshot not written");
  }
}

/**
 * Whether a notice's own time lies in the counting window, up to NOTICE_MAX_AHEAD_MS ahead. Others are dropped, not
 * refused: the agent re-sends a notice until a heartbeat carrying it succeeds, so a 422 would stop its heartbeats.
 */
function isCountable(interruption: HeartbeatInterruption, receivedAt: Date): boolean {
  const atMs = Date.parse(interruption.at);
  return atMs >= receivedAt.getTime() - NOTICE_WINDOW_MS && atMs <= receivedAt.getTime() + NOTICE_MAX_AHEAD_MS;
}

/** A notice not recorded yet for its node, of a node with room for another kind, and dated in the counting window. */
function isNew(state: ClusterState, interruption: HeartbeatInterruption, receivedAt: Date): boolean {
  const kinds = state.noticed.get(interruption.node);
  if (kinds && (kinds.has(interruption.kind) || kinds.size >= NOTICE_KINDS_PER_NODE)) return false;
  return isCountable(interruption, receivedAt);
}

/** One heartbeat's notices: the cluster, the nodes they may name, and (once needed) what other replicas recorded. */
interface BeatNotices {
  cluster: ManagedCluster;
  state: ClusterState;
  receivedAt: Date;
  known: Set<string>;
  /** The cluster's size for the hourly budget: this beat's nodes, or the last beat's when more (a fleet just lost). */
  nodeCount: number;
  /** `node|kind` of the notices decided in this beat: one per node and kind, as the replica's memory keeps them. */
  decided: Set<string>;
  elsewhere?: Set<string>;
}

/**
 * A notice is skipped (not new to this replica, or known here to be unclaimed), only remembered (its entry is in this
 * replica's cache already), a candidate (the shared budget decides whether it is recorded) or, for a node not reported,
 * an orphan (decided only by an existing claim).
 */
function decide(
  ctx: IngestContext,
  beat: BeatNotices,
  interruption: HeartbeatInterruption,
): "skip" | "remember" | "candidate" | "orphan" {
  if (!isNew(beat.state, interruption, beat.receivedAt) || beat.state.unclaimed.has(noticeId(interruption)))
    return "skip";
  const nodeKind = `${interruption.node}|${interruption.kind}`;
  if (beat.decided.has(nodeKind)) return "skip";
  beat.decided.add(nodeKind);
  beat.elsewhere ??= recordedNoticeIds(ctx, beat.cluster);
  if (beat.elsewhere.has(noticeId(interruption))) return "remember";
  // a node gone since: only a notice a replica claimed while the node was reported (see NoticeCandidate.claimedOnly)
  return beat.known.has(interruption.node) ? "candidate" : "orphan";
}

const candidateOf = (i: HeartbeatInterruption, claimedOnly = false): NoticeCandidate => ({
  id: noticeId(i),
  kind: isSpotInterruption(i.kind) ? "spot" : "other",
  ...(claimedOnly ? { claimedOnly } : {}),
});

/**
 * Records the claimed notices in order. When one cannot be written, the claims of it and of the ones after it are made
 * stale (best effort), so the agent's retry of this heartbeat, at any replica, takes them over and records them; the
 * error is the heartbeat's.
 */
async function recordClaimed(ctx: IngestContext, beat: BeatNotices, claimed: HeartbeatInterruption[]): Promise<void> {
  for (let i = 0; i < claimed.length; i++) {
    try {
      await recordNotice(ctx, beat.cluster, claimed[i]!);
    } catch (err) {
      const rest = claimed.slice(i).map((c) => candidateOf(c));
      await ctx.budget.release(clusterKey(beat.cluster), rest, beat.receivedAt.getTime()).catch(() => undefined);
      throw err;
    }
  }
}

const clusterKey = (cluster: ManagedCluster): string => `${cluster.metadata.namespace}/${cluster.metadata.name}`;

/**
 * The candidates against the cluster's shared budget (one read, and one write when any is claimed): the claimed are
 * recorded and remembered; those another replica claimed moments ago and has not recorded yet are deferred (the agent
 * sends them again, and they are recorded once seen recorded or taken over); answers how many were over.
 */
async function claimAndRecord(
  ctx: IngestContext,
  beat: BeatNotices,
  candidates: Array<{ interruption: HeartbeatInterruption; orphan: boolean }>,
): Promise<{ remembered: HeartbeatInterruption[]; deferred: HeartbeatInterruption[]; over: number }> {
  if (candidates.length === 0) return { remembered: [], deferred: [], over: 0 };
  const claims = await ctx.budget.claim(clusterKey(beat.cluster), {
    candidates: candidates.map((c) => candidateOf(c.interruption, c.orphan)),
    nodeCount: beat.nodeCount,
    nowMs: beat.receivedAt.getTime(),
  });
  const claimed = candidates.filter((_, i) => claims[i] === "claimed" || claims[i] === "took-over");
  await recordClaimed(
    ctx,
    beat,
    claimed.map((c) => c.interruption),
  );
  // a notice of a node gone that no replica claimed never will be: not looked up again while this replica runs
  candidates.forEach((c, i) => {
    if (claims[i] === "unclaimed") rememberUnclaimed(beat.state, noticeId(c.interruption));
  });
  return {
    remembered: claimed.map((c) => c.interruption),
    deferred: candidates.filter((_, i) => claims[i] === "taken").map((c) => c.interruption),
    over: claims.filter((c) => c === "over").length,
  };
}

/**
 * Each new notice becomes one audit entry. Only notices of a node the agent reports (or reported last), or claimed by a
 * replica while it did, dated within the counting window (not older, not more than NOTICE_MAX_AHEAD_MS ahead), once
 * per (node, kind), at most NOTICE_KINDS_PER_NODE kinds per node and within the cluster's hourly budget (what it drops
 * is logged): a heartbeat cannot fill the audit chain with notices of made-up nodes or times (one of those costs one
 * budget read, once per replica). A node no longer reported is forgotten, so a new node of the same name is heard
 * again.
 */
async function recordInterruptions(
  ctx: IngestContext,
  input: IngestInput,
  state: ClusterState,
  receivedAt: Date,
): Promise<HeartbeatInterruption[]> {
  const { cluster, heartbeat } = input;
  const reported = new Set(heartbeat.nodes.map((n) => n.name));
  // A notice may also name a node of the previous heartbeat: one the agent kept through an outage, gone since. Kept in
  // memory: the node check reads nothing from the API server.
  const beat: BeatNotices = {
    cluster,
    state,
    receivedAt,
    known: new Set([...reported, ...state.lastNodes]),
    nodeCount: Math.max(reported.size, state.lastNodes.length),
    decided: new Set(),
  };
  // An agent sends its oldest notices first; one that sends more (an older agent) has the rest dropped.
  const looked = heartbeat.interruptions.slice(0, MAX_NOTICES_PER_HEARTBEAT);
  const decisions = looked.map((interruption) => decide(ctx, beat, interruption));
  const outcome = await claimAndRecord(
    ctx,
    beat,
    looked.flatMap((interruption, i) =>
      decisions[i] === "candidate" || decisions[i] === "orphan"
        ? [{ interruption, orphan: decisions[i] === "orphan" }]
        : [],
    ),
  );
  const dropped = heartbeat.interruptions.length - looked.length + outcome.over;
  // Remembered, recorded here or elsewhere, so the next beat carrying it does not look again.
  const recorded = new Set<string>();
  for (const interruption of [...looked.filter((_, i) => decisions[i] === "remember"), ...outcome.remembered]) {
    state.noticed.set(interruption.node, (state.noticed.get(interruption.node) ?? new Set()).add(interruption.kind));
    recorded.add(interruption.node);
  }
  if (dropped > 0)
    ctx.opts.logger?.warn(
      { cluster: cluster.metadata.name, namespace: cluster.metadata.namespace, dropped },
      "Dropped interruption notices over one heartbeat's or the cluster's hourly budget",
    );
  forgetGoneNodes(state, reported, recorded);
  return outcome.deferred;
}

/** Kept: reported nodes, and those just noticed (a retried post of this heartbeat must not record them again). */
function forgetGoneNodes(state: ClusterState, reported: ReadonlySet<string>, recorded: ReadonlySet<string>): void {
  for (const node of state.noticed.keys()) if (!reported.has(node) && !recorded.has(node)) state.noticed.delete(node);
  state.lastNodes = [...reported];
}

async function recordNotice(
  ctx: IngestContext,
  cluster: ManagedCluster,
  interruption: HeartbeatInterruption,
): Promise<void> {
  const name = cluster.metadata.name ?? "";
  await ctx.opts.audit.record({
    namespace: cluster.metadata.namespace ?? "",
    actor: `system:agent/${name}`,
    // Only Spot interruptions count; rebalance, maintenance and Karpenter disruption notices are kept as notices.
    event: isSpotInterruption(interruption.kind) ? SPOT_INTERRUPTION_EVENT : NODE_NOTICE_EVENT,
    resource: `cluster/${name}/node/${interruption.node}`,
    outcome: "success",
    after: { ...interruption, id: noticeId(interruption) },
  });
}

/** The spec field is "as reported by the agent or the user": a rare write, only when the version changed. */
async function recordK8sVersion(ctx: IngestContext, cluster: ManagedCluster, reported: string): Promise<void> {
  const version = k8sVersionOf(reported);
  if (version === undefined || cluster.spec.k8sVersion === version) return;
  await ctx.opts.client.patch(
    {
      apiVersion: cluster.apiVersion,
      kind: cluster.kind,
      namespace: cluster.metadata.namespace,
      name: cluster.metadata.name ?? "",
    },
    { spec: { k8sVersion: version } },
    { type: "merge", fieldManager: HEARTBEAT_FIELD_MANAGER },
  );
}

/** The snapshot as stored, or 413 when even gzip'd it is more than a ConfigMap holds (nothing is written then). */
function storable(snapshot: ClusterSnapshot, json: string): ReturnType<typeof snapshotBinaryData> {
  const stored = snapshotBinaryData(snapshot, json);
  if (stored.bytes > STORED_MAX_BYTES)
    throw new PayloadTooLargeError(
      `the report is ${stored.bytes} bytes gzip'd, more than the ${STORED_MAX_BYTES} its snapshot ConfigMap can hold`,
    );
  return stored;
}

/** What the snapshot may take of its ConfigMap's 1 MiB of values (a margin below the API server's limit). */
const STORED_MAX_BYTES = CONFIGMAP_MAX_BYTES - 1024;

async function ingest(ctx: IngestContext, input: IngestInput): Promise<IngestResult> {
  const { cluster, heartbeat } = input;
  const at = ctx.opts.now();
  // Every beat, before anything is written, not only those due to be stored: a report that cannot be stored is
  // refused at once. Only one whose JSON passes a ConfigMap's size needs compressing to tell (once a beat).
  const snapshot = normalized(heartbeat, at);
  const json = JSON.stringify(snapshot);
  let stored = Buffer.byteLength(json) > STORED_MAX_BYTES ? storable(snapshot, json) : undefined;
  const nowMs = at.getTime();
  const state = stateOf(ctx, `${cluster.metadata.namespace}/${cluster.metadata.name}`);
  const intervalS = heartbeat.heartbeat_interval_seconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS;
  // The answer tells the agent to beat every intervalS, so liveness must already allow for it.
  if (nowMs - state.leaseRenewedMs >= ctx.opts.leaseRenewMs || state.leaseIntervalS !== intervalS) {
    await renewLease(ctx, cluster, at, intervalS);
    state.leaseRenewedMs = nowMs;
    state.leaseIntervalS = intervalS;
  }
  await maybeWriteSnapshot(ctx, { ...input, stored: () => (stored ??= storable(snapshot, json)) }, state, at);
  const deferred = await recordInterruptions(ctx, input, state, at);
  await recordK8sVersion(ctx, cluster, heartbeat.k8s_version);
  return { receivedAt: at, intervalS, deferred };
}

export function createHeartbeatIngest(opts: HeartbeatIngestOptions): HeartbeatIngest {
  const ctx: IngestContext = {
    opts,
    states: new Map(),
    counts: { leases: 0, snapshots: 0 },
    budget: createNoticeBudget({ client: opts.client, namespace: opts.noticeNamespace }),
  };
  return {
    ingest: (input) => ingest(ctx, input),
    writes: () => ({ ...ctx.counts }),
    close: async () => {
      ctx.closed = true;
      for (const state of ctx.states.values()) {
        stopFlushTimer(state);
        await state.flushing;
        await flushPending(ctx, state);
      }
    },
  };
}
