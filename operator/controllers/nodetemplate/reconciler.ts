// NodeTemplate reconciler: reads the caches, calls the pure builder, applies the NodePool and EC2NodeClass, holds the
// cluster's single default, and writes the template's status (Valid, Applied, instance types, warnings).
import { NodeTemplateSpec } from "../../../src-shared/crds/index.js";
import type { ManagedCluster, NodeTemplate, OptimizationPolicy } from "../../../src-shared/crds/index.js";
import { isNotFound, type KubeClient, type KubeObject } from "../../../src-shared/kube/index.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";
import {
  StatusMemory,
  applyStatus,
  findCondition,
  removeCondition,
  setCondition,
  splitKey,
  type Condition,
  type ReconcileResult,
  type EventSink,
} from "../../../src-shared/runtime/index.js";
import {
  CLUSTER_NOT_FOUND,
  resolveClusterTarget,
  type LocalClusterRef,
} from "../../../src-shared/tenancy/cluster-target.js";
import { effectivePolicy, policyInForce } from "../../../src-shared/karpenter/policy.js";
import {
  desiredTemplate,
  spotReturn,
  type AwsDefaults,
  type DesiredTemplate,
  type SpotReturnTiming,
} from "./desired.js";
import { EC2NODECLASS_API, NODEPOOL_API, karpenterName } from "../../../src-shared/karpenter/labels.js";
import {
  NODETEMPLATE_FIELD_MANAGER,
  localExecutor,
  remoteExecutor,
  type ExecutionState,
  type KarpenterExecutor,
} from "./executor.js";
import { effectiveDefault, type TemplateCaches } from "./kube.js";
import { onDemandClaimsCreatedMs, poolNodeClaims } from "../../../src-shared/agent/remote-view.js";
import { hibernationHolds } from "../../../src-shared/hibernation/saved.js";
import { sweepRemote } from "./sweep.js";
import { poolDecision, previousPool, type PreviousPool } from "./decision.js";
import { recordDecision, type DecisionAudit } from "../../../src-shared/audit/decisions.js";

/** Held on every template: its NodePool and EC2NodeClass are cluster-scoped, so no owner reference can collect them. */
export const NODETEMPLATE_FINALIZER = "nodetemplate.spotoptimizer.io/karpenter-objects";
export { NODETEMPLATE_FIELD_MANAGER };
/** Level-based resync: prices of a live price book move, so the status figures are recomputed this often. */
const RESYNC_MS = 10 * 60_000;

export interface NodeTemplateReconcilerOptions {
  client: KubeClient;
  caches: TemplateCaches;
  /** The price book of a region; throws or returns undefined where there is none. */
  priceBook: (region: string) => PriceBook | undefined;
  awsDefaults?: AwsDefaults;
  /**
   * The installer's designation of the local cluster, asked for a template of `namespace`: only the templates of that
   * cluster get NodePools on this cluster.
   */
  localCluster: (namespace: string) => Promise<LocalClusterRef | undefined>;
  events?: EventSink;
  now?: () => Date;
  /** The return to Spot's settle and re-check intervals (default 30 and 5 minutes). */
  spotReturn?: SpotReturnTiming;
  /** Where a change of a NodePool's instance or capacity types is recorded (the organisation's audit chain). */
  audit?: DecisionAudit;
  /**
   * Whether this cluster serves Karpenter's NodePool and EC2NodeClass (default true). Where it does not, the local
   * cluster's templates are not applied and say why (deleting one finds nothing to remove: its reads answer 404).
   */
  karpenter?: boolean;
}

const NO_KARPENTER =
  "This cluster serves no Karpenter v1 NodePool (karpenter.sh/v1) and EC2NodeClass (karpenter.k8s.aws/v1): install Karpenter v1 with its AWS provider, then restart the operator";

interface Built {
  desired: DesiredTemplate;
  poolName: string;
  policySource?: string;
  fallbackActive: boolean;
  fallback: { narrow: boolean; recheckInMs?: number };
  catalog?: PriceBook;
}

/** One run of the reconciler: the key and template it is for, its clock reading, and what every step reads. */
interface Ctx {
  key: string;
  template: NodeTemplate;
  now: Date;
  options: NodeTemplateReconcilerOptions;
  noter: ReturnType<typeof decisionNoter>;
  statuses: StatusMemory;
}

function bookFor(
  options: NodeTemplateReconcilerOptions,
  region: string | undefined,
): { catalog?: PriceBook; problem?: string } {
  if (!region) return { problem: "the ManagedCluster has no spec.region" };
  try {
    const catalog = options.priceBook(region);
    return catalog ? { catalog } : { problem: `no price book for region ${region}` };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Local: server-side apply here. Remote (the template's cluster is a `mode: remote` ManagedCluster): AgentActions
 * for that cluster's agent.
 */
function executorFor(ctx: Ctx, cluster: ManagedCluster | undefined): KarpenterExecutor {
  const { client, caches } = ctx.options;
  const t = ctx.template;
  if (cluster?.spec.mode === "remote")
    return remoteExecutor(client, {
      namespace: t.metadata.namespace ?? "",
      clusterName: cluster.metadata.name ?? "",
      template: t as unknown as KubeObject,
      actions: caches.actionsOf(t.metadata.namespace ?? "", t.metadata.name ?? ""),
      view: caches.remoteView(t.metadata.namespace ?? "", cluster.metadata.name ?? ""),
      nowMs: ctx.now.getTime(),
    });
  return localExecutor({
    client,
    key: ctx.key,
    current: (kind, name) => caches.karpenterObject(kind, name),
    names: () => caches.objectNamesOf(ctx.key),
  });
}

/** Deletes the Karpenter objects that name `key` as their template (its own, and any left from a rename). */
async function removeObjects(key: string, executor: KarpenterExecutor): Promise<ExecutionState> {
  const { namespace, name } = splitKey(key);
  const names = [...new Set([karpenterName(namespace ?? "", name), ...executor.appliedNames()])];
  return executor.remove([
    ...names.map((n) => ({ ...NODEPOOL_API, name: n })),
    ...names.map((n) => ({ ...EC2NODECLASS_API, name: n })),
  ]);
}

/**
 * Server-side applies only this finalizer: with no resourceVersion to be stale, a run that reads a cache not yet
 * showing an earlier run's write does not conflict, and the API server keeps other finalizers (the list is a set).
 * A template deleted meanwhile is not made again: an apply without its required spec is refused.
 */
async function addFinalizer(client: KubeClient, template: NodeTemplate): Promise<void> {
  const { name, namespace } = template.metadata;
  await client.patch(
    { apiVersion: template.apiVersion, kind: template.kind, namespace, name: name ?? "" },
    {
      apiVersion: template.apiVersion,
      kind: template.kind,
      metadata: { name, namespace, finalizers: [NODETEMPLATE_FINALIZER] },
    },
    { type: "apply", fieldManager: NODETEMPLATE_FIELD_MANAGER, force: true },
  );
}

/**
 * Removal writes the whole list, so it is guarded by the resourceVersion read. A 404 (already gone) ends the run. A
 * 409 throws, so the work queue retries the key with backoff instead of waiting for a watch event of a newer state,
 * which need not come.
 */
async function setFinalizers(client: KubeClient, template: NodeTemplate, finalizers: string[]): Promise<void> {
  try {
    await client.patch(
      {
        apiVersion: template.apiVersion,
        kind: template.kind,
        namespace: template.metadata.namespace,
        name: template.metadata.name ?? "",
      },
      { metadata: { resourceVersion: template.metadata.resourceVersion, finalizers } },
      { type: "merge" },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * The last template of a cluster named as its default is going: clear spec.defaultTemplate, as DELETE
 * /templates/{id} does, so the next template created is not taken for the deleted default's successor. Guarded by
 * the resourceVersion read: a concurrent move of the default (409) wins and this run is retried.
 */
async function releaseDefault(ctx: Ctx): Promise<void> {
  const { client, caches } = ctx.options;
  const namespace = ctx.template.metadata.namespace ?? "";
  const cluster = caches.cluster(namespace, ctx.template.spec.clusterRef.name);
  if (!cluster || cluster.spec.defaultTemplate !== ctx.template.metadata.name) return;
  if (effectiveDefault(caches.templates(namespace), cluster) !== undefined) return;
  await nameDefault(client, cluster, null);
}

async function finalize(ctx: Ctx): Promise<ReconcileResult> {
  const { client, caches } = ctx.options;
  const namespace = ctx.template.metadata.namespace ?? "";
  const cluster = caches.cluster(namespace, ctx.template.spec.clusterRef.name);
  // A remote cluster's objects go through its agent: the finalizer stays until the delete actions succeeded.
  const removed = await removeObjects(ctx.key, executorFor(ctx, cluster));
  if (!removed.done) return { requeueAfterMs: removed.recheckInMs ?? RESYNC_MS };
  await releaseDefault(ctx);
  const finalizers = ctx.template.metadata.finalizers ?? [];
  if (finalizers.includes(NODETEMPLATE_FINALIZER))
    await setFinalizers(
      client,
      ctx.template,
      finalizers.filter((f) => f !== NODETEMPLATE_FINALIZER),
    );
  return {};
}

async function writeStatus(
  ctx: Ctx,
  status: { conditions: Condition[]; warnings?: string[]; instanceTypes?: unknown },
): Promise<void> {
  const { client } = ctx.options;
  const t = ctx.template;
  const body = {
    apiVersion: t.apiVersion,
    kind: t.kind,
    metadata: { name: t.metadata.name, namespace: t.metadata.namespace },
    status: { observedGeneration: t.metadata.generation, ...status },
  };
  const written = await applyStatus(client, body, {
    current: t as unknown as KubeObject,
    fieldManager: NODETEMPLATE_FIELD_MANAGER,
  });
  if (written.changed) ctx.statuses.remember(ctx.key, t as unknown as KubeObject, written.object.status ?? body.status);
}

function condition(
  ctx: Ctx,
  list: Condition[],
  c: Omit<Condition, "lastTransitionTime" | "observedGeneration">,
): Condition[] {
  return setCondition(list, { ...c, observedGeneration: ctx.template.metadata.generation }, ctx.now);
}

/**
 * Records Events for condition changes a person should see in `kubectl describe`: every change to False, and to
 * True except Valid (a template that becomes valid is then applied, and the Applied Event says so).
 */
async function announce(ctx: Ctx, next: Condition[]): Promise<void> {
  const before = ctx.template.status?.conditions ?? [];
  const object = ctx.template as unknown as KubeObject;
  const changed = next.filter((n) => !sameCondition(findCondition(before, n.type), n));
  for (const c of changed.filter((n) => !(n.type === "Valid" && n.status === "True"))) {
    if (c.status === "True") await ctx.options.events?.normal(object, c.reason, c.message);
    else await ctx.options.events?.warning(object, c.reason, c.message);
  }
}

async function notApplied(
  ctx: Ctx,
  input: { reason: string; message: string; desired?: DesiredTemplate },
): Promise<ReconcileResult> {
  let conditions = [...(ctx.template.status?.conditions ?? [])];
  if (input.desired) conditions = validCondition(ctx, conditions, input.desired);
  conditions = condition(ctx, conditions, {
    type: "Applied",
    status: "False",
    reason: input.reason,
    message: input.message,
  });
  await announce(ctx, conditions);
  await writeStatus(ctx, {
    conditions,
    ...(input.desired ? { warnings: input.desired.warnings } : {}),
    ...(input.desired?.instanceTypes ? { instanceTypes: input.desired.instanceTypes } : {}),
  });
  return { requeueAfterMs: RESYNC_MS };
}

function validCondition(ctx: Ctx, list: Condition[], desired: DesiredTemplate): Condition[] {
  const v = desired.validation;
  return condition(ctx, list, {
    type: "Valid",
    status: v.valid ? "True" : "False",
    reason: v.valid ? "Valid" : "InvalidSpec",
    message: v.valid ? "The template is valid" : v.errors.join("; "),
  });
}

async function setIsDefault(client: KubeClient, t: NodeTemplate, value: boolean): Promise<void> {
  await client.patch(
    { apiVersion: t.apiVersion, kind: t.kind, namespace: t.metadata.namespace, name: t.metadata.name ?? "" },
    { metadata: { resourceVersion: t.metadata.resourceVersion }, spec: { isDefault: value } },
    { type: "merge", fieldManager: NODETEMPLATE_FIELD_MANAGER },
  );
}

/** Flips this template's isDefault to what the cluster's default says, with an Event saying why. */
async function flipDefault(
  ctx: Ctx,
  input: { value: boolean; winner: string; cluster: ManagedCluster },
): Promise<void> {
  const { client } = ctx.options;
  const object = ctx.template as unknown as KubeObject;
  const how = `(move it with PATCH /templates/{id}/default or the ManagedCluster's spec.defaultTemplate)`;
  const clusterName = input.cluster.metadata.name ?? "";
  const named = input.cluster.spec.defaultTemplate;
  const why =
    named === ctx.template.metadata.name
      ? "its ManagedCluster's spec.defaultTemplate names it"
      : `it succeeds the deleted default ${named ?? ""} as the oldest remaining template`;
  await setIsDefault(client, ctx.template, input.value);
  if (input.value)
    await ctx.options.events?.normal(
      object,
      "DefaultTemplate",
      `This template is the default of cluster ${clusterName} (${why}); isDefault set to true ${how}`,
    );
  else
    await ctx.options.events?.warning(
      object,
      "DefaultConflict",
      `NodeTemplate ${input.winner} is the default of cluster ${clusterName}; isDefault of this template was set back to false ${how}`,
    );
}

/**
 * Brings spec.isDefault of this template and the cluster's spec.defaultTemplate in line with the effective default.
 * True when the template was patched: its update event brings it back with the new generation.
 */
async function holdDefault(ctx: Ctx, cluster: ManagedCluster, winner: string | undefined): Promise<boolean> {
  const { client } = ctx.options;
  const name = ctx.template.metadata.name ?? "";
  const isWinner = winner === name;
  if ((ctx.template.spec.isDefault === true) !== isWinner) {
    await flipDefault(ctx, { value: isWinner, winner: winner ?? "", cluster });
    return true;
  }
  if (isWinner && cluster.spec.defaultTemplate !== name) await nameDefault(client, cluster, name);
  return false;
}

/** Points the cluster's spec.defaultTemplate at the template (guarded: a concurrent move makes this a 409). */
async function nameDefault(client: KubeClient, cluster: ManagedCluster, name: string | null): Promise<void> {
  await client.patch(
    {
      apiVersion: cluster.apiVersion,
      kind: cluster.kind,
      namespace: cluster.metadata.namespace,
      name: cluster.metadata.name ?? "",
    },
    { metadata: { resourceVersion: cluster.metadata.resourceVersion }, spec: { defaultTemplate: name } },
    { type: "merge", fieldManager: NODETEMPLATE_FIELD_MANAGER },
  );
}

/**
 * The template's cluster is gone or being deleted: the objects it applied go, as they do with a template the facade
 * made (owned by its ManagedCluster, so collected with it), and Applied=False says why. The template stays and applies
 * again once its cluster is back.
 */
async function withdraw(ctx: Ctx, input: { cluster?: ManagedCluster; message: string }): Promise<ReconcileResult> {
  const removed = await removeObjects(ctx.key, executorFor(ctx, input.cluster));
  // Without its ManagedCluster there is no agent to reach: a remote cluster's objects can only be removed before.
  const where = input.cluster ? "what it applied is removed" : "what it applied in this cluster is removed";
  const message = `${input.message}: nothing is applied for this template, and ${where}`;
  const pending = removed.done ? "" : ` (${removed.message ?? "removal pending"})`;
  const result = await notApplied(ctx, { reason: CLUSTER_NOT_FOUND, message: `${message}${pending}` });
  return removed.done ? result : { requeueAfterMs: Math.min(RESYNC_MS, removed.recheckInMs ?? RESYNC_MS) };
}

/** The template's cluster, or the result of a run that ends because there is none to apply to. */
async function clusterOf(ctx: Ctx): Promise<ManagedCluster | ReconcileResult> {
  const namespace = ctx.template.metadata.namespace ?? "";
  // The same rule as every per-cluster kind: a `mode: local` cluster other than the designated one is not found.
  const target = await resolveClusterTarget(
    {
      managedCluster: async (ns, n) => ctx.options.caches.cluster(ns, n),
      localCluster: () => ctx.options.localCluster(namespace),
    },
    { namespace, clusterName: ctx.template.spec.clusterRef.name },
  );
  // A cluster that exists but is not this organisation's local one (e.g. the installer's designation missing or
  // edited) keeps what was applied: removing it would drain every node of those NodePools on a configuration slip.
  if (!target.found && ctx.options.caches.cluster(namespace, ctx.template.spec.clusterRef.name))
    return notApplied(ctx, { reason: target.reason, message: target.message });
  if (!target.found) return withdraw(ctx, { message: target.message });
  const cluster = target.cluster as ManagedCluster;
  if (target.deleting) return withdraw(ctx, { cluster, message: `ManagedCluster ${target.name} is being deleted` });
  return cluster;
}

/** Finalizer, cluster and spec checks; a result when the run ends here, else what the build needs. */
async function prepare(
  ctx: Ctx,
): Promise<ReconcileResult | { cluster: ManagedCluster; spec: NodeTemplateSpec; winner?: string }> {
  const { client, caches } = ctx.options;
  const t = ctx.template;
  const namespace = t.metadata.namespace ?? "";
  const finalizers = t.metadata.finalizers ?? [];
  if (!finalizers.includes(NODETEMPLATE_FINALIZER)) {
    await addFinalizer(client, t);
    return {};
  }
  const cluster = await clusterOf(ctx);
  if (!("metadata" in cluster)) return cluster;
  const parsed = NodeTemplateSpec.safeParse(t.spec);
  if (!parsed.success)
    return notApplied(ctx, {
      reason: "InvalidSpec",
      message: parsed.error.issues.map((i) => `spec.${i.path.join(".")}: ${i.message}`).join("; "),
    });
  const winner = effectiveDefault(caches.templates(namespace), cluster);
  if (await holdDefault(ctx, cluster, winner)) return {};
  return { cluster, spec: parsed.data, ...(winner ? { winner } : {}) };
}

function build(ctx: Ctx, input: { cluster: ManagedCluster; spec: NodeTemplateSpec; winner?: string }): Built {
  const { caches } = ctx.options;
  const t = ctx.template;
  const namespace = t.metadata.namespace ?? "";
  const clusterName = input.cluster.metadata.name ?? "";
  const { inForce } = policyInForce<OptimizationPolicy>(caches.policies(namespace), namespace, clusterName);
  const policy = effectivePolicy(inForce);
  const { catalog, problem } = bookFor(ctx.options, input.cluster.spec.region);
  const poolName = karpenterName(namespace, t.metadata.name ?? "");
  const fallbackActive = policy.spotFallback && input.spec.strategy === "SPOT";
  const fallback = spotReturn({
    fallbackActive,
    onDemandClaimCreatedMs: onDemandClaims(caches, input.cluster, poolName),
    spotOffered: catalog !== undefined,
    nowMs: ctx.now.getTime(),
    timing: ctx.options.spotReturn,
  });
  const desired = desiredTemplate({
    template: { namespace, name: t.metadata.name ?? "", spec: input.spec },
    cluster: { name: clusterName, spec: input.cluster.spec },
    policy,
    isDefault: input.winner === t.metadata.name,
    ...(catalog ? { catalog } : { catalogProblem: problem }),
    awsDefaults: ctx.options.awsDefaults,
    narrowToSpot: fallback.narrow,
    hibernating: hibernationHolds(poolAnnotations(caches, input.cluster, poolName)),
  });
  return { desired, poolName, policySource: policy.source, fallbackActive, fallback, catalog };
}

async function reconcileLive(ctx: Ctx): Promise<ReconcileResult> {
  const prepared = await prepare(ctx);
  if (!("cluster" in prepared)) return prepared;
  const built = build(ctx, prepared);
  const { desired } = built;
  if (!desired.validation.valid)
    return notApplied(ctx, {
      reason: "InvalidSpec",
      message: "Not applied: the template is not valid (see Valid)",
      desired,
    });
  if (prepared.cluster.spec.mode !== "remote" && ctx.options.karpenter === false)
    return notApplied(ctx, { reason: "KarpenterNotServed", message: NO_KARPENTER, desired });
  const executor = executorFor(ctx, prepared.cluster);
  const state = await ctx.noter.apply(executor, { template: ctx.template, built, cluster: prepared.cluster });
  if (!state.done) return notYetApplied(ctx, { state, desired, clusterName: prepared.cluster.metadata.name ?? "" });
  const conditions = appliedConditions(ctx, built, executor.mode === "remote" ? prepared.cluster : undefined);
  await announce(ctx, conditions);
  await writeStatus(ctx, {
    conditions,
    warnings: desired.warnings,
    ...(desired.instanceTypes ? { instanceTypes: desired.instanceTypes } : {}),
  });
  return { requeueAfterMs: Math.min(RESYNC_MS, built.fallback.recheckInMs ?? RESYNC_MS) };
}

/** The objects are not in place: a name is someone else's, or a remote cluster's agent has not applied them yet. */
async function notYetApplied(
  ctx: Ctx,
  input: { state: ExecutionState; desired: DesiredTemplate; clusterName: string },
): Promise<ReconcileResult> {
  // A NameConflict waits for the other object to go: the NodePool and EC2NodeClass watches map it to this template.
  // A refused write is looked at again on the executor's slow period (a change of the input brings it back sooner).
  if (input.state.reason) {
    const done = await notApplied(ctx, {
      reason: input.state.reason,
      message: input.state.message ?? "",
      desired: input.desired,
    });
    return { requeueAfterMs: Math.min(done.requeueAfterMs ?? RESYNC_MS, input.state.recheckInMs ?? RESYNC_MS) };
  }
  const reason = input.state.failed ? "AgentActionFailed" : "AgentActionPending";
  const what = input.state.failed ? "could not apply" : "has not applied yet";
  await notApplied(ctx, {
    reason,
    message: `The agent of cluster ${input.clusterName} ${what} the NodePool and EC2NodeClass: ${input.state.message ?? ""}`,
    desired: input.desired,
  });
  // Watch events of the AgentActions bring the template back; a due retry needs a timer.
  return { requeueAfterMs: Math.min(RESYNC_MS, input.state.recheckInMs ?? RESYNC_MS) };
}

function appliedConditions(ctx: Ctx, built: Built, remote?: ManagedCluster): Condition[] {
  const { desired } = built;
  let conditions = validCondition(ctx, [...(ctx.template.status?.conditions ?? [])], desired);
  const count = desired.instanceTypes?.count;
  const types = count === undefined ? "" : `, ${count} instance types`;
  conditions = condition(ctx, conditions, {
    type: "Applied",
    status: "True",
    reason: "Applied",
    message: `NodePool and EC2NodeClass ${built.poolName} applied${remote ? ` in cluster ${remote.metadata.name ?? ""} by its agent` : ""} (weight ${String(desired.nodePool!.spec.weight)}${types}, ${built.policySource ? `policy ${built.policySource}` : "policy defaults"})`,
  });
  return built.fallbackActive
    ? condition(ctx, conditions, fallbackCondition(built.fallback.narrow))
    : removeCondition(conditions, "SpotFallback");
}

export function createNodeTemplateReconciler(
  options: NodeTemplateReconcilerOptions,
): (key: string) => Promise<ReconcileResult> {
  const { client, caches } = options;
  const now = options.now ?? ((): Date => new Date());
  const noter = decisionNoter(caches, options.audit);
  const statuses = new StatusMemory();
  return async (key: string): Promise<ReconcileResult> => {
    const { namespace, name } = splitKey(key);
    const cached = caches.template(namespace ?? "", name);
    const template = cached && statuses.latest(key, cached);
    // Gone (deleted while the operator was down, or finalizer removed by hand): sweep what still names it.
    if (!template) {
      statuses.forget(key);
      await removeObjects(
        key,
        localExecutor({ client, key, current: () => undefined, names: () => caches.objectNamesOf(key) }),
      );
      return sweepRemote({ client, caches, key, nowMs: now().getTime() });
    }
    const ctx: Ctx = { key, template, now: now(), options, noter, statuses };
    if (template.metadata.deletionTimestamp) return finalize(ctx);
    return reconcileLive(ctx);
  };
}

/** The pool's On-Demand NodeClaims: a remote pool's from its agent's report, a local one's from the informer. */
function onDemandClaims(caches: TemplateCaches, cluster: ManagedCluster, pool: string): number[] {
  if (cluster.spec.mode !== "remote") return caches.onDemandClaimsCreatedMs(pool);
  return onDemandClaimsCreatedMs(
    caches.remoteView(cluster.metadata.namespace ?? "", cluster.metadata.name ?? ""),
    pool,
  );
}

/** The pool's nodes: a remote pool's NodeClaims in its agent's report, a local one's from the informer. */
function poolNodes(caches: TemplateCaches, cluster: ManagedCluster, pool: string): number | undefined {
  if (cluster.spec.mode !== "remote") return caches.poolNodeClaims(pool);
  return poolNodeClaims(caches.remoteView(cluster.metadata.namespace ?? "", cluster.metadata.name ?? ""), pool);
}

/** The annotations of the pool as the cluster holds it (a remote one: as its agent last reported it). */
function poolAnnotations(
  caches: TemplateCaches,
  cluster: ManagedCluster,
  pool: string,
): Record<string, string> | undefined {
  if (cluster.spec.mode !== "remote") return caches.karpenterObject("NodePool", pool)?.metadata?.annotations;
  const view = caches.remoteView(cluster.metadata.namespace ?? "", cluster.metadata.name ?? "");
  return view?.objects.find((o) => o.kind === "NodePool" && o.name === pool)?.annotations;
}

function poolBefore(caches: TemplateCaches, template: NodeTemplate, desired: KubeObject): PreviousPool | undefined {
  const ns = template.metadata.namespace ?? "";
  return previousPool({
    local: caches.karpenterObject("NodePool", desired.metadata?.name ?? ""),
    actions: caches.actionsOf(ns, template.metadata.name ?? ""),
    desired,
  });
}

/**
 * Applies a template's objects; once they are in place, a change of the pool's instance or capacity types is one
 * decision entry (keyed by the pool version it replaced, so a retry or a lagging cache finds it written). A pass that
 * changed none records nothing.
 */
function decisionNoter(
  caches: TemplateCaches,
  audit: DecisionAudit | undefined,
): {
  apply(
    executor: KarpenterExecutor,
    input: { template: NodeTemplate; built: Built; cluster: ManagedCluster },
  ): Promise<ExecutionState>;
} {
  return {
    async apply(executor, { template, built, cluster }) {
      const { desired } = built;
      const previous = poolBefore(caches, template, desired.nodePool as unknown as KubeObject);
      const state = await executor.apply([desired.ec2NodeClass!, desired.nodePool!] as unknown as KubeObject[]);
      if (!state.done || !audit) return state;
      const decision = poolDecision({
        namespace: template.metadata.namespace ?? "",
        template: { name: template.metadata.name ?? "", uid: template.metadata.uid ?? "" },
        cluster: cluster.metadata.name ?? "",
        previous,
        desired: desired.nodePool as unknown as KubeObject,
        book: built.catalog,
        narrowToSpot: built.fallback.narrow,
        policy: built.policySource,
        nodes: poolNodes(caches, cluster, desired.nodePool!.metadata.name ?? ""),
      });
      if (decision) await recordDecision(audit, decision);
      return state;
    },
  };
}

function sameCondition(a: Condition | undefined, b: Condition): boolean {
  return a !== undefined && a.status === b.status && a.reason === b.reason && a.message === b.message;
}

function fallbackCondition(narrow: boolean): Omit<Condition, "lastTransitionTime" | "observedGeneration"> {
  return narrow
    ? {
        type: "SpotFallback",
        status: "False",
        reason: "ReturningToSpot",
        message:
          "No On-Demand launch for the settle time (30 min by default) and the price book offers Spot: the NodePool is narrowed to Spot so Karpenter replaces the On-Demand nodes",
      }
    : {
        type: "SpotFallback",
        status: "True",
        reason: "FallbackAllowed",
        message:
          "The NodePool allows Spot and On-Demand; Karpenter prefers Spot and launches On-Demand only when Spot is short",
      };
}
