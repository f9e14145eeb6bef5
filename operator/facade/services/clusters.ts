// The cluster service: connect (the ManagedCluster created if absent, its agent token issued and only the hash
// stored) and re-plan requests. Each write names what it sets by server-side apply, so racing replicas converge.
import { randomUUID } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import {
  API_VERSION,
  REPLAN_ANNOTATION,
  REPLAN_AT_ANNOTATION,
  type ManagedCluster,
} from "../../../src-shared/crds/index.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { agentTokenSecret, agentTokenSecretName, newAgentToken } from "./agent-token.js";
import { APPLY_MANAGERS } from "./k8s-writes.js";
import { crRef, settle, type ResourceContext } from "./resource-scope.js";

/** What a connect asks for: the cluster's id and, for a new cluster, its name and region. */
export interface ConnectRequest {
  cluster_id: string;
  region?: string | undefined;
  display_name?: string | undefined;
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
}

export function requireCluster(rc: ResourceContext, id: string): ManagedCluster {
  const cluster = rc.cache.cluster(rc.namespace, id);
  if (!cluster) throw new NotFoundError(`cluster ${id} not found`);
  return cluster;
}

/** Only a remote cluster runs an agent; the cluster the operator runs in (or a kubectl-made `mode: local` one) never. */
function assertRemote(cluster: ManagedCluster): void {
  if (cluster.spec.mode !== "remote")
    throw new ConflictError(`cluster ${cluster.metadata.name ?? ""} is not a remote cluster: it takes no agent`);
}

function newClusterManifest(rc: ResourceContext, request: ConnectRequest): ManagedCluster {
  return {
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    metadata: { name: request.cluster_id, namespace: rc.namespace },
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
    assertRemote(existing);
    return { cluster: existing, created: false };
  }
  try {
    return { cluster: await rc.writer.create(newClusterManifest(rc, request)), created: true };
  } catch (err) {
    // Created meanwhile (another replica, kubectl): connect to it instead.
    if (!(err instanceof ConflictError)) throw err;
    const live = await rc.writer.read<ManagedCluster>(crRef("ManagedCluster", rc.namespace, request.cluster_id));
    if (!live) throw err;
    assertRemote(live);
    return { cluster: live, created: false };
  }
}

/**
 * Writes the token's hash into the release namespace (one apply whether or not the Secret exists) and waits until the
 * verifier sees it.
 */
async function storeTokenHash(rc: ResourceContext, cluster: ManagedCluster, token: string): Promise<void> {
  const secret = agentTokenSecret(cluster, token, rc.config.systemNamespace);
  const name = secret.metadata?.name ?? "";
  const { apiVersion: _apiVersion, kind: _kind, ...body } = secret;
  const written = await rc.writer.apply<V1Secret>({
    ref: { apiVersion: "v1", kind: "Secret", namespace: rc.config.systemNamespace, name },
    manager: APPLY_MANAGERS.connect,
    body,
  });
  await rc.cache.waitFor("Secret", {
    namespace: rc.config.systemNamespace,
    name,
    resourceVersion: written.metadata?.resourceVersion ?? null,
  });
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

/** Points the live cluster at its token Secret; never makes a cluster deleted meanwhile again (resourceVersion). */
async function referToken(rc: ResourceContext, name: string, secretName: string): Promise<ManagedCluster> {
  const ref = crRef("ManagedCluster", rc.namespace, name);
  for (let attempt = 1; ; attempt++) {
    const live = await rc.writer.read<ManagedCluster>(ref);
    if (!live) throw new NotFoundError(`cluster ${name} not found`);
    try {
      return await rc.writer.swap<ManagedCluster>({
        ref,
        resourceVersion: live.metadata.resourceVersion,
        patch: { spec: { agentTokenSecretRef: { name: secretName, key: "token-hash" } } },
      });
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= REFER_ATTEMPTS) throw err;
    }
  }
}

/** The token's Secret and the cluster's reference to it; a cluster this request created goes again on failure. */
async function issueToken(
  rc: ResourceContext,
  issued: { cluster: ManagedCluster; created: boolean },
): Promise<{ current: ManagedCluster; token: string }> {
  const name = issued.cluster.metadata.name ?? "";
  const token = newAgentToken(rc.namespace, name);
  try {
    await storeTokenHash(rc, issued.cluster, token);
    const secretName = agentTokenSecretName(rc.namespace, name);
    if (issued.cluster.spec.agentTokenSecretRef?.name === secretName) return { current: issued.cluster, token };
    return { current: await referToken(rc, name, secretName), token };
  } catch (err) {
    if (issued.created) await rollBackCluster(rc, issued.cluster);
    throw err;
  }
}

/** Connects a remote cluster: creates its ManagedCluster if needed and issues a new agent token (the old one stops). */
async function connect(rc: ResourceContext, request: ConnectRequest): Promise<Connected> {
  const issued = await ensureCluster(rc, request);
  const { current, token } = await issueToken(rc, issued);
  await settle(rc, "ManagedCluster", current);
  return { ...issued, current, token };
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
