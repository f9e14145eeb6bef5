// exclusions.namespaces of the policy in force → pods there get `karpenter.sh/do-not-disrupt: "true"` on the local
// cluster; a marker annotation records which policy added it, so only those are removed when a namespace leaves the list.
import { isNotFound, type KubeClient, type KubeObject } from "../../../src-shared/kube/index.js";
import { DO_NOT_DISRUPT, PROTECTED_BY } from "../../../src-shared/agent/annotations.js";

export { DO_NOT_DISRUPT, PROTECTED_BY };

export interface PodPatch {
  namespace: string;
  name: string;
  annotations: Record<string, string | null>;
}

/**
 * Pure: the annotation changes that make `pods` match the policy `policyKey` protecting exactly the namespaces in
 * `excluded` (empty when the policy is not in force or gone). Pods annotated by someone else are left alone.
 */
export function protectionPatches(input: {
  pods: readonly KubeObject[];
  excluded: ReadonlySet<string>;
  policyKey: string;
}): PodPatch[] {
  return input.pods.flatMap((pod) => {
    const annotations = podAnnotations(pod, input);
    return annotations
      ? [{ namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "", annotations }]
      : [];
  });
}

function podAnnotations(
  pod: KubeObject,
  input: { excluded: ReadonlySet<string>; policyKey: string },
): Record<string, string | null> | undefined {
  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const wanted = input.excluded.has(meta.namespace ?? "") && !meta.deletionTimestamp;
  if (wanted && annotations[DO_NOT_DISRUPT] === undefined)
    return { [DO_NOT_DISRUPT]: "true", [PROTECTED_BY]: input.policyKey };
  if (!wanted && annotations[PROTECTED_BY] === input.policyKey) return { [DO_NOT_DISRUPT]: null, [PROTECTED_BY]: null };
  return undefined;
}

/** Applies the patches (merge patch of metadata.annotations); a pod gone meanwhile is skipped. Returns the count. */
export async function applyProtection(client: KubeClient, patches: readonly PodPatch[]): Promise<number> {
  let written = 0;
  for (const p of patches) {
    try {
      await client.patch(
        { apiVersion: "v1", kind: "Pod", namespace: p.namespace, name: p.name },
        { metadata: { annotations: p.annotations } },
        { type: "merge", fieldManager: "spot-optimizer-optimizationpolicy" },
      );
      written++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return written;
}
