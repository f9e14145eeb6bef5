// A new NodeTemplate's first reconciles make no write the API server refuses: the finalizer is added without a
// resourceVersion, so a run that reads a cache not yet showing that write does not conflict. The operator's watch of
// templates lags here (as a busy watch stream does) so that such a run happens whenever one is queued.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { useTemplateCluster } from "../support/template-cluster.js";
import {
  KubeApiError,
  KubeClient,
  type KubeObject,
  type PatchOptions,
  type WatchEventHandler,
  type WatchHandle,
} from "../../src-shared/kube/index.js";
import { NODETEMPLATE_FINALIZER } from "../../operator/controllers/nodetemplate/reconciler.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";

const NS = "org-a";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const LAG_MS = 300;

/** Delivers NodeTemplate watch events late (in order), and keeps the 409 answers NodeTemplate writes got. */
class LaggingTemplateWatchClient extends KubeClient {
  readonly conflicts: string[] = [];

  override watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: WatchEventHandler,
    options?: { idleTimeoutMs?: number },
  ): WatchHandle {
    const late: WatchEventHandler = (type, object) => {
      if (type === "ERROR") return onEvent(type, object);
      setTimeout(() => onEvent(type, object), LAG_MS);
    };
    return super.watch(path, query, path.endsWith("/nodetemplates") ? late : onEvent, options);
  }

  override async patch<T extends KubeObject = KubeObject>(
    ref: Parameters<KubeClient["patch"]>[0],
    body: unknown,
    options: PatchOptions,
  ): Promise<T> {
    try {
      return await super.patch<T>(ref, body, options);
    } catch (err) {
      if (ref.kind === NT.kind && err instanceof KubeApiError && err.statusCode === 409)
        this.conflicts.push(`${ref.name}: ${err.message}`);
      throw err;
    }
  }
}

let operatorClient: LaggingTemplateWatchClient;
const env = useTemplateCluster({
  namespace: NS,
  operatorClient: (kubeConfig) => (operatorClient = new LaggingTemplateWatchClient(kubeConfig)),
});

describe("nodetemplate controller: a new template's first reconciles", () => {
  it("add the finalizer and apply the template with no 409 from the API server", async () => {
    const names = ["web", "api", "batch"];
    for (const name of names)
      await env.client.create({
        ...NT,
        metadata: { name, namespace: NS },
        spec: { clusterRef: { name: "local" }, families: ["m5"] },
      });
    for (const name of names) {
      const t = await eventually(
        async () => {
          const current = await env.client.getIfExists<any>({ ...NT, namespace: NS, name });
          const applied = (current?.status?.conditions ?? []).find((c: any) => c.type === "Applied");
          return applied?.status === "True" && applied.observedGeneration === current.metadata.generation
            ? current
            : undefined;
        },
        15_000,
        `${name} Applied=True`,
      );
      expect(t.metadata.finalizers).toEqual([NODETEMPLATE_FINALIZER]);
      expect(await env.client.getIfExists({ ...NP, name: karpenterName(NS, name) })).toBeDefined();
    }
    await env.manager.idle();
    expect(operatorClient.conflicts).toEqual([]);
  });
});
