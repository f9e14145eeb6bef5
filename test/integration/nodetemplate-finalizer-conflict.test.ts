// 409s on the NodeTemplate controller's finalizer patch, with no newer template state behind them (so no watch event
// follows), are retried by the work queue: the finalizer is still added to a new template and released from a deleted
// one. The operator's client answers those patches 409 itself, so the API server never sees them.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { useTemplateCluster } from "../support/template-cluster.js";
import { KubeApiError, KubeClient, type KubeObject, type PatchOptions } from "../../src-shared/kube/index.js";
import { NODETEMPLATE_FINALIZER } from "../../operator/controllers/nodetemplate/reconciler.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";

const NS = "org-a";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;

/**
 * Answers the next `CONFLICTS` finalizer patches of each armed NodeTemplate with a 409 Conflict, as a stale write
 * would get. More than one: every template event enqueues its key twice (its own watch and its siblings'), and that
 * second run would make up for a single refusal even without a retry.
 */
const CONFLICTS = 3;
class FinalizerConflictClient extends KubeClient {
  private readonly armed = new Map<string, number>();

  arm(name: string): void {
    this.armed.set(name, CONFLICTS);
  }

  /** Conflicts still to answer for `name`. */
  pending(name: string): number {
    return this.armed.get(name) ?? 0;
  }

  override async patch<T extends KubeObject = KubeObject>(
    ref: Parameters<KubeClient["patch"]>[0],
    body: unknown,
    options: PatchOptions,
  ): Promise<T> {
    const finalizers = (body as { metadata?: { finalizers?: unknown } }).metadata?.finalizers;
    const left = this.pending(ref.name);
    if (ref.kind === NT.kind && finalizers !== undefined && left > 0) {
      this.armed.set(ref.name, left - 1);
      throw new KubeApiError(
        409,
        { kind: "Status", status: "Failure", reason: "Conflict", code: 409, message: "injected conflict" },
        `PATCH nodetemplates/${ref.name}`,
      );
    }
    return super.patch<T>(ref, body, options);
  }
}

let operatorClient: FinalizerConflictClient;
const env = useTemplateCluster({
  namespace: NS,
  operatorClient: (kubeConfig) => (operatorClient = new FinalizerConflictClient(kubeConfig)),
});

function template(name: string, cluster: string): KubeObject {
  return { ...NT, metadata: { name, namespace: NS }, spec: { clusterRef: { name: cluster }, families: ["m5"] } };
}

async function getTemplate(name: string): Promise<any> {
  return env.client.getIfExists({ ...NT, namespace: NS, name });
}

function condition(t: any, type: string): any {
  return (t?.status?.conditions ?? []).find((c: any) => c.type === type);
}

describe("nodetemplate controller: a 409 on the finalizer patch", () => {
  it("is retried when adding the finalizer: the template is still finalized and applied", async () => {
    operatorClient.arm("first");
    await env.client.create(template("first", "local"));
    const t = await eventually(
      async () => {
        const current = await getTemplate("first");
        const c = condition(current, "Applied");
        return c?.status === "True" && c.observedGeneration === current.metadata.generation ? current : undefined;
      },
      15_000,
      "first Applied=True",
    );
    expect(operatorClient.pending("first")).toBe(0);
    expect(t.metadata.finalizers).toContain(NODETEMPLATE_FINALIZER);
    expect(await env.client.getIfExists({ ...NP, name: karpenterName(NS, "first") })).toBeDefined();
  });

  it("is retried when releasing the finalizer: a deleted template with nothing left to remove goes", async () => {
    // A template of an unknown cluster has no NodePool, so its deletion removes nothing whose watch event could
    // bring it back: only the retries of the refused finalizer patch let it go.
    await env.client.create(template("orphaned", "unknown"));
    await eventually(
      async () => (await getTemplate("orphaned"))?.metadata.finalizers?.includes(NODETEMPLATE_FINALIZER),
      15_000,
      "orphaned finalized",
    );
    await env.manager.idle();
    operatorClient.arm("orphaned");
    await env.client.delete({ ...NT, namespace: NS, name: "orphaned" });
    await eventually(async () => (await getTemplate("orphaned")) === undefined, 15_000, "orphaned gone");
    expect(operatorClient.pending("orphaned")).toBe(0);
  });
});
