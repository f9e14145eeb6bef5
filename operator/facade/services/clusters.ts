// The cluster service: connect (the ManagedCluster created if absent, its agent token issued and only the hash
// stored) and re-plan requests. Re-plans name what they set by server-side apply, so racing replicas converge; the
// token Secret is written only over the state just read, so racing connects never answer a token already replaced.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Secret } from "@kubernetes/client-node";
import {
  API_VERSION,
  REPLAN_ANNOTATION,
  REPLAN_AT_ANNOTATION,
  type ManagedCluster,
} from "../../../src-shared/crds/index.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.js";
import { TOKEN_HASH_KEY, agentTokenSecret, agentTokenSecretName, newAgentToken } from "./agent-token.js";
import { APPLY_MANAGERS, type ObjectRef } from "./k8s-writes.js";
import { crRef, settle, type ResourceContext } from "./resource-scope.js";

/** What a connect asks for: the cluster's id and, for a new cluster, its name and region. */
export interface ConnectRequest {
  cluster_id: string;
  /** The namespace the agent is installed into (agentNamespace when absent). */
  namespace?: string | undefined;
  region?: string | undefined;
  display_name?: string | undefined;
  /** Set where the caller may connect a new cluster but not rotate an existing one's token: why (answered with 403). */
  reconnectRefused?: string;
}

export interface Connected {
  /** This request created the ManagedCluster (else it connected to the one there). */
  created: boolean;
  /** The cluster before the connect (as found, or as created). */
  cluster: ManagedCluster;
  /** The cluster after the connect. */
  current: ManagedCluster;
  /** The new agent token; only its hash is stored. */
  token: string;
  /** The namespace the agent's install command names (recorded on the cluster for the next connect). */
  namespace: string;
}

/** Where connect's install command puts the agent, recorded on the ManagedCluster so that a reconnect names it again. */
export const AGENT_NAMESPACE_ANNOTATION = "spotoptimizer.io/agent-namespace";
/** The namespace of a new cluster's agent: not the full release's, which the command would turn into an agent. */
export const DEFAULT_AGENT_NAMESPACE = "spot-optimizer-agent";
/** What connect named before it recorded the namespace: where agents connected then run. */
const EARLIER_AGENT_NAMESPACE = "spot-optimizer";

/**
 * The namespace a connect's install command names: the one asked for; else the one recorded at the cluster's last
 * connect; else, for a cluster connected before that was recorded, the namespace connect named then (the new
 * command must upgrade that release, or Helm refuses a second one); else the default.
 */
function agentNamespace(cluster: ManagedCluster, request: ConnectRequest, created: boolean): string {
  if (request.namespace !== undefined) return request.namespace;
  const recorded = cluster.metadata.annotations?.[AGENT_NAMESPACE_ANNOTATION];
  if (recorded) return recorded;
  return !created && cluster.spec.agentTokenSecretRef ? EARLIER_AGENT_NAMESPACE : DEFAULT_AGENT_NAMESPACE;
}

export function requireCluster(rc: ResourceContext, id: string): ManagedCluster {
  const cluster = rc.cache.cluster(rc.namespace, id);
  if (!cluster) throw new NotFoundError(`cluster ${id} not found`);
  return cluster;
}

/**
 * A reconnect re-issues the agent token, which a caller allowed only new clusters (an impersonation token) may not.
 * Only a remote cluster runs an agent; the cluster the operator runs in (or a kubectl-made `mode: local` one) never.
 * A reconnect keeps the cluster's region: it picks the price book and shapes the NodePools already applied, so a
 * different one is refused (409) rather than ignored or applied behind the user's back.
 */
function assertReconnectable(cluster: ManagedCluster, request: ConnectRequest): void {
  const name = cluster.metadata.name ?? "";
  if (request.reconnectRefused !== undefined) throw new ForbiddenError(request.reconnectRefused);
  if (cluster.spec.mode !== "remote")
    throw new ConflictError(`cluster ${name} is not a remote cluster: it takes no agent`);
  if (request.region !== undefined && request.region !== cluster.spec.region)
    throw new ConflictError(
      `cluster ${name} is in region ${cluster.spec.region ?? "(none set)"}: a reconnect cannot change its region ` +
        "(it decides the cluster's prices and NodePools); leave region out, or connect it under a new cluster_id",
    );
}

function newClusterManifest(rc: ResourceContext, request: ConnectRequest): ManagedCluster {
  return {
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    metadata: {
      name: request.cluster_id,
      namespace: rc.namespace,
      annotations: { [AGENT_NAMESPACE_ANNOTATION]: request.namespace ?? DEFAULT_AGENT_NAMESPACE },
    },
    spec: {
      mode: "remote",
      // Named now, so a new cluster needs no second write of its own; the Secret follows and is rolled back with it.
      agentTokenSecretRef: { name: agentTokenSecretName(rc.namespace, request.cluster_id), key: "token-hash" },
      ...(request.display_name ? { displayName: request.display_name } : {}),
      ...(request.region ? { region: request.region } : {}),
    },
  };
}

/** The cluster to connect: the one there (remote only), else a new one; of racing creates one wins, the rest join it. */
async function ensureCluster(
  rc: ResourceContext,
  request: ConnectRequest,
): Promise<{ cluster: ManagedCluster; created: boolean }> {
  const existing = rc.cache.cluster(rc.namespace, request.cluster_id);
  if (existing) {
    assertReconnectable(existing, request);
    return { cluster: existing, created: false };
  }
  try {
    return { cluster: await rc.writer.create(newClusterManifest(rc, request)), created: true };
  } catch (err) {
    // Created meanwhile (another replica, kubectl): connect to it instead.
    if (!(err instanceof ConflictError)) throw err;
    const live = await rc.writer.read<ManagedCluster>(crRef("ManagedCluster", rc.namespace, request.cluster_id));
    if (!live) throw err;
    assertReconnectable(live, request);
    return { cluster: live, created: false };
  }
}

/** Another connect of the same cluster wrote its token first: this one's would be dead on arrival. */
class TokenRaceError extends ConflictError {
  constructor(clusterName: string) {
    super(`the agent token of cluster ${clusterName} was changed at the same time; try again`);
  }
}

/**
 * Writes the token Secret only over the state just read: created if absent, else its hash replaced at that
 * resourceVersion. Of connects racing on one cluster one lands; the others get 409 rather than a token a later write
 * has already replaced (a server-side apply let the last writer win).
 */
async function writeTokenSecret(
  rc: ResourceContext,
  input: { ref: ObjectRef; secret: V1Secret; clusterName: string },
): Promise<V1Secret> {
  const { ref, secret } = input;
  const current = await rc.writer.read<V1Secret>(ref);
  try {
    if (!current) return await rc.writer.create<V1Secret>(secret);
    return await rc.writer.swap<V1Secret>({
      ref,
      resourceVersion: current.metadata?.resourceVersion,
      patch: tokenSecretPatch(secret),
    });
  } catch (err) {
    if (err instanceof ConflictError) throw new TokenRaceError(input.clusterName);
    throw err;
  }
}

/** The new hash, labels (the cluster's uid among them) and annotations over the Secret there. */
function tokenSecretPatch(secret: V1Secret): Record<string, unknown> {
  return {
    metadata: { labels: secret.metadata?.labels, annotations: secret.metadata?.annotations },
    data: secret.data,
  };
}

/**
 * Writes the token's hash into the release namespace and waits until the verifier sees it; 409 when another connect's
 * token replaced it.
 */
async function storeTokenHash(rc: ResourceContext, cluster: ManagedCluster, token: string): Promise<void> {
  const secret = agentTokenSecret(cluster, token, rc.config.systemNamespace);
  const name = secret.metadata?.name ?? "";
  const ref = { apiVersion: "v1", kind: "Secret", namespace: rc.config.systemNamespace, name };
  const input = { ref, secret, clusterName: cluster.metadata.name ?? "" };
  const written = await writeTokenSecret(rc, input);
  await rc.cache.waitFor("Secret", {
    namespace: rc.config.systemNamespace,
    name,
    resourceVersion: written.metadata?.resourceVersion ?? null,
  });
  // Connects a moment apart (a double click, a retrying installer) need not overlap on the API server, so the
  // resourceVersion check alone lets each replace the last: a token is answered once it has stayed current a while.
  await sleep(TOKEN_SETTLE_MS);
  await assertStillCurrent(rc, input);
}

/** How long a new token must stay the cluster's token before it is answered (other connects meanwhile: 409). */
const TOKEN_SETTLE_MS = 500;

/** A connect that read after this write may have replaced it meanwhile: answer only a token that is still the one. */
async function assertStillCurrent(
  rc: ResourceContext,
  input: { ref: ObjectRef; secret: V1Secret; clusterName: string },
): Promise<void> {
  const now = await rc.writer.read<V1Secret>(input.ref);
  const hash = (s: V1Secret | undefined): string | undefined => s?.data?.[TOKEN_HASH_KEY];
  if (hash(now) !== hash(input.secret)) throw new TokenRaceError(input.clusterName);
}

/** Deletes the cluster a failed connect created, and its token Secret if written (it lives apart, unowned). */
async function rollBackCluster(rc: ResourceContext, cluster: ManagedCluster): Promise<void> {
  const name = cluster.metadata.name ?? "";
  const secretName = agentTokenSecretName(rc.namespace, name);
  const secret = { apiVersion: "v1", kind: "Secret", namespace: rc.config.systemNamespace, name: secretName };
  for (const ref of [crRef("ManagedCluster", rc.namespace, name), secret])
    await rc.writer.remove(ref).catch((err: unknown) => {
      if (err instanceof NotFoundError) return;
      rc.logger?.error(
        { err, namespace: rc.namespace, name, kind: ref.kind },
        "Connect failed and what it created could not be deleted",
      );
    });
}

const REFER_ATTEMPTS = 5;

/** What the cluster's spec must change to: the reference to its token Secret, and a new display name if asked for. */
function specChanges(cluster: ManagedCluster, request: ConnectRequest, secretName: string): Record<string, unknown> {
  return {
    ...(cluster.spec.agentTokenSecretRef?.name === secretName
      ? {}
      : { agentTokenSecretRef: { name: secretName, key: "token-hash" } }),
    ...(request.display_name !== undefined && request.display_name !== cluster.spec.displayName
      ? { displayName: request.display_name }
      : {}),
  };
}

/** Merge-patches the live cluster; never makes a cluster deleted meanwhile again (resourceVersion). */
async function updateCluster(
  rc: ResourceContext,
  name: string,
  patch: { spec: Record<string, unknown>; metadata?: { annotations: Record<string, string> } },
): Promise<ManagedCluster> {
  const ref = crRef("ManagedCluster", rc.namespace, name);
  for (let attempt = 1; ; attempt++) {
    const live = await rc.writer.read<ManagedCluster>(ref);
    if (!live) throw new NotFoundError(`cluster ${name} not found`);
    try {
      return await rc.writer.swap<ManagedCluster>({
        ref,
        resourceVersion: live.metadata.resourceVersion,
        patch,
      });
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= REFER_ATTEMPTS) throw err;
    }
  }
}

/**
 * The token's Secret and the cluster's reference to it (and a reconnect's new display name); a cluster this request
 * created goes again on failure.
 */
async function issueToken(
  rc: ResourceContext,
  issued: { cluster: ManagedCluster; created: boolean },
  request: ConnectRequest & { namespace: string },
): Promise<{ current: ManagedCluster; token: string }> {
  const name = issued.cluster.metadata.name ?? "";
  const token = newAgentToken(rc.namespace, name);
  try {
    await storeTokenHash(rc, issued.cluster, token);
    const spec = specChanges(issued.cluster, request, agentTokenSecretName(rc.namespace, name));
    const recorded = issued.cluster.metadata.annotations?.[AGENT_NAMESPACE_ANNOTATION] === request.namespace;
    if (Object.keys(spec).length === 0 && recorded) return { current: issued.cluster, token };
    const metadata = recorded ? {} : { metadata: { annotations: { [AGENT_NAMESPACE_ANNOTATION]: request.namespace } } };
    return { current: await updateCluster(rc, name, { spec, ...metadata }), token };
  } catch (err) {
    // Lost a token race: another connect's token is in use for this cluster, which must stay.
    if (issued.created && !(err instanceof TokenRaceError)) await rollBackCluster(rc, issued.cluster);
    throw err;
  }
}

/** Connects a remote cluster: creates its ManagedCluster if needed and issues a new agent token (the old one stops). */
async function connect(rc: ResourceContext, request: ConnectRequest): Promise<Connected> {
  const issued = await ensureCluster(rc, request);
  const namespace = agentNamespace(issued.cluster, request, issued.created);
  const { current, token } = await issueToken(rc, issued, { ...request, namespace });
  await settle(rc, "ManagedCluster", current);
  return { ...issued, current, token, namespace };
}

/** Asks the operator's replan controller to re-plan the cluster: a new job id in the cluster's annotations. */
async function requestReplan(
  rc: ResourceContext,
  id: string,
): Promise<{ jobId: string; requestedAt: string; previousJobId: string | null }> {
  const cluster = requireCluster(rc, id);
  const jobId = `replan-${randomUUID()}`;
  const requestedAt = rc.now.toISOString();
  const updated = await rc.writer.apply<ManagedCluster>({
    ref: crRef("ManagedCluster", rc.namespace, id),
    manager: APPLY_MANAGERS.replan,
    // A cluster deleted meanwhile is not made again: an apply without a spec is refused (spec is required).
    body: { metadata: { annotations: { [REPLAN_ANNOTATION]: jobId, [REPLAN_AT_ANNOTATION]: requestedAt } } },
  });
  await settle(rc, "ManagedCluster", updated);
  return { jobId, requestedAt, previousJobId: cluster.metadata.annotations?.[REPLAN_ANNOTATION] ?? null };
}

export interface ClusterService {
  connect: typeof connect;
  requestReplan: typeof requestReplan;
}

export function createClusterService(): ClusterService {
  return { connect, requestReplan };
}
