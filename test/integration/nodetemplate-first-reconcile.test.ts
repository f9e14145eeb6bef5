// A new NodeTemplate's first reconciles make no write the API server refuses: the finalizer is added without a
// resourceVersion, so a run that reads a cache not yet showing that write does not conflict. The operator's watch of
// templates lags here (as a busy watch stream does) so that such a run happens whenever one is queued.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import {
  KubeApiError,
  KubeClient,
  type KubeObject,
  type PatchOptions,
  type WatchEventHandler,
  type WatchHandle,
} from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { NODETEMPLATE_FINALIZER } from "../../operator/controllers/nodetemplate/reconciler.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { designateLocalCluster } from "../support/local-cluster.js";

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

let server: LocalApiServer;
let client: KubeClient;
let operatorClient: LaggingTemplateWatchClient;
let manager: ControllerManager;

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  operatorClient = new LaggingTemplateWatchClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
  manager = new ControllerManager({ client: operatorClient });
  await registerNodeTemplateController({ manager, client: operatorClient });
  manager.start();
  await manager.waitForCacheSync();
}, 30_000);

afterAll(async () => {
  await manager?.stop();
  operatorClient?.close();
  client?.close();
  await server?.stop();
});

describe("nodetemplate controller: a new template's first reconciles", () => {
  it("add the finalizer and apply the template with no 409 from the API server", async () => {
    const names = ["web", "api", "batch"];
    for (const name of names)
      await client.create({
        ...NT,
        metadata: { name, namespace: NS },
        spec: { clusterRef: { name: "local" }, families: ["m5"] },
      });
    for (const name of names) {
      const t = await eventually(
        async () => {
          const current = await client.getIfExists<any>({ ...NT, namespace: NS, name });
          const applied = (current?.status?.conditions ?? []).find((c: any) => c.type === "Applied");
          return applied?.status === "True" && applied.observedGeneration === current.metadata.generation
            ? current
            : undefined;
        },
        15_000,
        `${name} Applied=True`,
      );
      expect(t.metadata.finalizers).toEqual([NODETEMPLATE_FINALIZER]);
      expect(await client.getIfExists({ ...NP, name: karpenterName(NS, name) })).toBeDefined();
    }
    await manager.idle();
    expect(operatorClient.conflicts).toEqual([]);
  });
});
