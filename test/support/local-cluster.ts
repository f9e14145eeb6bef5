// Test support: makes `namespace/name` the local cluster (a `mode: local` ManagedCluster plus the installer's
// designation ConfigMap in the system namespace), as local mode's seed and the chart do.
import type { KubeClient, KubeObject } from "../../src-shared/kube/index.js";
import { DEFAULT_SYSTEM_NAMESPACE, localClusterConfigMap } from "../../src-shared/tenancy/cluster-target.js";

async function createOrKeep(client: KubeClient, object: KubeObject): Promise<void> {
  const meta = object.metadata ?? {};
  const ref = { apiVersion: object.apiVersion!, kind: object.kind!, name: meta.name!, namespace: meta.namespace };
  if (!(await client.getIfExists(ref))) await client.create(object);
}

export async function designateLocalCluster(
  client: KubeClient,
  ref: { namespace: string; name?: string; spec?: Record<string, unknown> },
): Promise<void> {
  const name = ref.name ?? "local";
  await createOrKeep(client, { apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_SYSTEM_NAMESPACE } });
  await createOrKeep(client, { apiVersion: "v1", kind: "Namespace", metadata: { name: ref.namespace } });
  await createOrKeep(client, {
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "ManagedCluster",
    metadata: { name, namespace: ref.namespace },
    spec: { mode: "local", ...(ref.spec ?? {}) },
  });
  const cm = localClusterConfigMap({ namespace: ref.namespace, name }) as KubeObject;
  const existing = await client.getIfExists({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: DEFAULT_SYSTEM_NAMESPACE,
    name: cm.metadata!.name!,
  });
  if (existing)
    await client.patch(
      { apiVersion: "v1", kind: "ConfigMap", namespace: DEFAULT_SYSTEM_NAMESPACE, name: cm.metadata!.name! },
      { data: (cm as { data: unknown }).data },
      { type: "merge" },
    );
  else await client.create(cm);
}
