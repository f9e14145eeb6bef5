// A NodePool / EC2NodeClass write the API server refuses (here: an empty node role, which Karpenter's EC2NodeClass CEL
// rule refuses) turns the template's Applied to False with the server's message, and back to True once the input is
// fixed; nothing is left half-written.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { NODE_POOL, NODE_TEMPLATE, useTemplateCluster } from "../support/template-cluster.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";

const NS = "org-refused";
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;

// The chart's defaults with an empty role: a ManagedCluster that leaves spec.aws.nodeRole out falls back to it.
const env = useTemplateCluster({ namespace: NS, nodeTemplate: { awsDefaults: { nodeRole: "" } } });

async function appliedCondition(status: "True" | "False"): Promise<any> {
  return eventually(
    async () => {
      const t = (await env.client.getIfExists({ ...NODE_TEMPLATE, namespace: NS, name: "general" })) as any;
      const c = (t?.status?.conditions ?? []).find((x: any) => x.type === "Applied");
      return c?.status === status && c.observedGeneration === t.metadata.generation ? c : undefined;
    },
    20_000,
    `Applied=${status}`,
  );
}

async function setNodeRole(nodeRole: string | null): Promise<void> {
  await env.client.patch({ ...MC, namespace: NS, name: "local" }, { spec: { aws: { nodeRole } } }, { type: "merge" });
}

describe("a write the API server refuses", () => {
  it("sets Applied=False WriteRefused with the server's message, and Applied=True once the input is fixed", async () => {
    const name = karpenterName(NS, "general");
    await setNodeRole("KarpenterNodeRole-demo");
    await env.client.create({
      ...NODE_TEMPLATE,
      metadata: { name: "general", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["m5"] },
    });
    expect((await appliedCondition("True")).reason).toBe("Applied");

    // The cluster's own role goes: the chart's empty default is rendered and the API server refuses the EC2NodeClass.
    await setNodeRole(null);
    const refused = await appliedCondition("False");
    expect(refused.reason).toBe("WriteRefused");
    expect(refused.message).toContain(`EC2NodeClass ${name}`);
    expect(refused.message).toContain("role cannot be empty");
    // The class keeps what was last admitted; nothing half-written.
    expect(((await env.client.getIfExists({ ...NC, name })) as any).spec.role).toBe("KarpenterNodeRole-demo");
    expect(await env.client.getIfExists({ ...NODE_POOL, name })).toBeDefined();

    await setNodeRole("KarpenterNodeRole-other");
    expect((await appliedCondition("True")).reason).toBe("Applied");
    expect(((await env.client.getIfExists({ ...NC, name })) as any).spec.role).toBe("KarpenterNodeRole-other");
  });
});
