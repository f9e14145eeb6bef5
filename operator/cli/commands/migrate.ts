// `spotctl migrate agent-objects`: moves what an earlier release kept in organisation namespaces into the release
// namespace — each agent-token hash Secret is copied, confirmed, then deleted; old snapshots and agent Leases (re-sent
// by the agents every minute) are deleted. Idempotent: the chart runs it as a pre-upgrade hook.
import type { V1Secret } from "@kubernetes/client-node";
import { agentObjectMarks, belongsTo, markedName, ORGANISATION_LABEL } from "../../../src-shared/agent/placement.js";
import { AGENT_LEASE_LABEL, CLUSTER_LABEL, SNAPSHOT_LABEL } from "../../../src-shared/agent/snapshot.js";
import { API_VERSION } from "../../../src-shared/crds/index.js";
import { KubeClient, isConflict, type KubeObject } from "../../../src-shared/kube/client.js";
import { loadKubeConfig } from "../../../src-shared/kube/config.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../../src-shared/tenancy/cluster-target.js";
import { AGENT_TOKEN_LABEL } from "../../facade/cache.js";
import { agentTokenSecretName, TOKEN_HASH_KEY } from "../../facade/services/agent-token.js";
import { parseFlags, UsageError, type CliCommand } from "../command.js";

const USAGE = `spotctl migrate agent-objects [--release-namespace NS] [--kubeconfig FILE]

Moves the per-cluster agent objects an earlier release kept in each organisation namespace
into the release namespace, where this release's facade and operator look for them:

  - each agent-token hash Secret (label spotoptimizer.io/agent-token=true) is copied to
    <organisation-namespace>.<cluster>-agent-token in the release namespace, read back, and
    only then deleted from the organisation namespace (so agents keep their tokens);
  - old heartbeat snapshot ConfigMaps and agent Leases are deleted (agents send new ones
    every minute).

Objects of this layout in another namespace (marked for an organisation other than the
namespace they are in: another release, or local mode's) are left alone and counted.

Safe to run again: what was moved is not copied twice. A copy that exists with a different
hash (the cluster was connected again since) is kept, the old Secret is left where it is and
named in the output.

--release-namespace  where the facade runs (default $SPOTOPT_SYSTEM_NAMESPACE, else
                     ${DEFAULT_SYSTEM_NAMESPACE})
--kubeconfig         kubeconfig file (default: in-cluster, else $KUBECONFIG / ~/.kube/config)

Prints one JSON line with the counts. Exit codes: 0 done, 1 the API server refused or failed
a request (the message names it), 2 usage error or a release namespace that does not exist.`;

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const SECRET = { apiVersion: "v1", kind: "Secret" };
const OLD_SNAPSHOTS = { apiVersion: "v1", kind: "ConfigMap", labelSelector: `${SNAPSHOT_LABEL}=true` };
const OLD_LEASES = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", labelSelector: `${AGENT_LEASE_LABEL}=true` };

export interface MigrationSummary {
  tokens_copied: number;
  tokens_already_there: number;
  old_tokens_deleted: number;
  /** Old Secrets of clusters that no longer exist: they authenticated nothing and are deleted without a copy. */
  orphaned_tokens_deleted: number;
  snapshots_deleted: number;
  leases_deleted: number;
  /** `namespace/cluster` whose copy holds another hash: the old Secret is left in place. */
  conflicts: string[];
  /** This layout's objects in another release namespace (marked for an organisation elsewhere): not touched. */
  left_in_other_namespaces: number;
}

interface Migration {
  client: KubeClient;
  releaseNamespace: string;
  summary: MigrationSummary;
}

/**
 * Objects of one labelled kind kept the earlier way (cluster-wide list, label-selected): in an organisation namespace,
 * so not in the release namespace and not marked for an organisation other than their own namespace. One marked for
 * another namespace is this layout's object of another release namespace (a second install, or local mode's): a token
 * there authenticates a live agent and is left alone.
 */
async function oldObjects(m: Migration, ref: { apiVersion: string; kind: string; labelSelector: string }) {
  const { labelSelector, ...kind } = ref;
  const { items } = await m.client.listAll<KubeObject>(kind, { labelSelector });
  return items.filter((o) => {
    const namespace = o.metadata?.namespace;
    if (namespace === m.releaseNamespace) return false;
    const organisation = markedName(o, ORGANISATION_LABEL);
    if (organisation === undefined || organisation === namespace) return true;
    m.summary.left_in_other_namespaces++;
    return false;
  });
}

/** Deletes exactly the version listed: one rewritten meanwhile is left for the next run. */
async function deleteAsListed(m: Migration, ref: { apiVersion: string; kind: string }, o: KubeObject) {
  return m.client.delete(
    { apiVersion: ref.apiVersion, kind: ref.kind, namespace: o.metadata?.namespace, name: o.metadata?.name ?? "" },
    { preconditions: { resourceVersion: o.metadata?.resourceVersion ?? "" } },
  );
}

/** The uid of the old Secret's cluster: its owner reference, else the live ManagedCluster; undefined when gone. */
async function clusterUid(m: Migration, namespace: string, cluster: string, old: KubeObject) {
  const live = await m.client.getIfExists({
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    namespace,
    name: cluster,
  });
  if (!live) return undefined;
  const owned = old.metadata?.ownerReferences?.find((r) => r.kind === "ManagedCluster" && r.name === cluster);
  // An owner reference naming another uid belongs to an earlier cluster of that name: that token is void too.
  return owned && owned.uid !== live.metadata?.uid ? undefined : live.metadata?.uid;
}

function hashOf(secret: KubeObject | undefined): string | undefined {
  return (secret as V1Secret | undefined)?.data?.[TOKEN_HASH_KEY];
}

/** Creates the copy (labelled and annotated for its organisation, cluster and uid), or reads one a previous run made. */
async function copyOf(m: Migration, old: KubeObject, owner: { namespace: string; cluster: string; uid: string }) {
  const name = agentTokenSecretName(owner.namespace, owner.cluster);
  const ref = { apiVersion: "v1", kind: "Secret", namespace: m.releaseNamespace, name };
  const existing = await m.client.getIfExists(ref);
  if (existing) return { copy: existing, created: false };
  const marks = agentObjectMarks(owner);
  const body: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: m.releaseNamespace,
      labels: { [AGENT_TOKEN_LABEL]: "true", ...marks.labels },
      annotations: marks.annotations,
    },
    type: "Opaque",
    data: { [TOKEN_HASH_KEY]: hashOf(old) ?? "" },
  };
  try {
    await m.client.create(body as KubeObject);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // Read back: only a copy the API server holds, labelled for this cluster, lets the old one go.
  return { copy: await m.client.getIfExists(ref), created: true };
}

/** Copies one old token Secret, confirms the copy holds its hash for its cluster, then deletes the old one. */
async function moveToken(m: Migration, old: KubeObject, owner: { namespace: string; cluster: string; uid: string }) {
  const { copy, created } = await copyOf(m, old, owner);
  if (!copy || !belongsTo(copy, owner.namespace, owner.cluster) || hashOf(copy) !== hashOf(old)) {
    m.summary.conflicts.push(`${owner.namespace}/${owner.cluster}`);
    return;
  }
  if (created) m.summary.tokens_copied++;
  else m.summary.tokens_already_there++;
  if (await deleteAsListed(m, SECRET, old)) m.summary.old_tokens_deleted++;
}

/** One old token Secret: moved when its cluster exists, deleted when it does not (it authenticated nothing). */
async function migrateToken(m: Migration, old: KubeObject): Promise<void> {
  const namespace = old.metadata?.namespace ?? "";
  const cluster = markedName(old, CLUSTER_LABEL);
  if (!cluster || hashOf(old) === undefined) return;
  const uid = await clusterUid(m, namespace, cluster, old);
  if (uid !== undefined) return moveToken(m, old, { namespace, cluster, uid });
  if (await deleteAsListed(m, SECRET, old)) m.summary.orphaned_tokens_deleted++;
}

/** Runs the whole migration against the API server; throws on the first refused request. */
export async function migrateAgentObjects(client: KubeClient, releaseNamespace: string): Promise<MigrationSummary> {
  const summary: MigrationSummary = {
    tokens_copied: 0,
    tokens_already_there: 0,
    old_tokens_deleted: 0,
    orphaned_tokens_deleted: 0,
    snapshots_deleted: 0,
    leases_deleted: 0,
    conflicts: [],
    left_in_other_namespaces: 0,
  };
  const m: Migration = { client, releaseNamespace, summary };
  // A mistyped namespace would find nothing to move and report success; there is no release where none exists.
  if (!(await client.getIfExists({ apiVersion: "v1", kind: "Namespace", name: releaseNamespace })))
    throw new UsageError(`release namespace ${releaseNamespace} does not exist: name the namespace the facade runs in`);
  const secrets = { apiVersion: "v1", kind: "Secret", labelSelector: `${AGENT_TOKEN_LABEL}=true` };
  for (const old of await oldObjects(m, secrets)) await migrateToken(m, old);
  for (const old of await oldObjects(m, OLD_SNAPSHOTS))
    if (await deleteAsListed(m, OLD_SNAPSHOTS, old)) summary.snapshots_deleted++;
  for (const old of await oldObjects(m, OLD_LEASES))
    if (await deleteAsListed(m, OLD_LEASES, old)) summary.leases_deleted++;
  return summary;
}

function options(args: string[]): { releaseNamespace: string; kubeconfig?: string } {
  const { flags, positional } = parseFlags(args, { values: ["release-namespace", "kubeconfig"] });
  if (positional[0] !== "agent-objects" || positional.length !== 1)
    throw new UsageError("usage: spotctl migrate agent-objects [--release-namespace NS] [--kubeconfig FILE]");
  const releaseNamespace =
    flags.get("release-namespace")?.at(-1) ?? (process.env.SPOTOPT_SYSTEM_NAMESPACE || DEFAULT_SYSTEM_NAMESPACE);
  if (!NAMESPACE_NAME.test(releaseNamespace) || releaseNamespace.length > 63)
    throw new UsageError(`--release-namespace: "${releaseNamespace}" is not a namespace name`);
  const kubeconfig = flags.get("kubeconfig")?.at(-1);
  return { releaseNamespace, ...(kubeconfig !== undefined ? { kubeconfig } : {}) };
}

export const migrateCommand: CliCommand = {
  usage: USAGE,
  run: async (args, io) => {
    const opts = options(args);
    let kubeConfig;
    try {
      kubeConfig = loadKubeConfig(opts.kubeconfig !== undefined ? { kubeconfigPath: opts.kubeconfig } : {});
    } catch (err) {
      throw new UsageError(`cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`);
    }
    const client = new KubeClient(kubeConfig);
    try {
      const summary = await migrateAgentObjects(client, opts.releaseNamespace);
      io.stdout(JSON.stringify({ release_namespace: opts.releaseNamespace, ...summary }) + "\n");
      if (summary.conflicts.length > 0)
        io.stderr(`spotctl migrate: kept the old token Secrets of ${summary.conflicts.join(", ")} (copy differs)\n`);
      return 0;
    } finally {
      client.close();
    }
  },
};
