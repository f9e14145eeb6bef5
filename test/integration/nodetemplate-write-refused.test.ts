// A NodePool / EC2NodeClass write the API server refuses (here: an empty node role, which Karpenter's EC2NodeClass CEL
// rule refuses) turns the template's Applied to False with the server's message, and back to True once the input is
// fixed; nothing is left half-written. For a remote cluster a manifest that fails Karpenter's schema is not handed to
// the agent and says so the same way.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { NODE_POOL, NODE_TEMPLATE, useTemplateCluster } from "../support/template-cluster.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";

const NS = "org-refused";
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;
const AA = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AgentAction" } as const;

/** More tags than Karpenter's EC2NodeClass schema allows in one selector term (20). */
const TOO_MANY_TAGS = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`tier-${i}`, "x"]));
const GOOD_TAGS = { "karpenter.sh/discovery": "demo" };

// The controller's defaults with an empty role and too many subnet tags: a ManagedCluster whose spec.aws leaves a
// field out falls back to them.
const env = useTemplateCluster({
  namespace: NS,
  nodeTemplate: { awsDefaults: { nodeRole: "", subnetSelector: TOO_MANY_TAGS } },
});

async function appliedCondition(status: "True" | "False", template = "general"): Promise<any> {
  return eventually(
    async () => {
      const t = (await env.client.getIfExists({ ...NODE_TEMPLATE, namespace: NS, name: template })) as any;
      const c = (t?.status?.conditions ?? []).find((x: any) => x.type === "Applied");
      return c?.status === status && c.observedGeneration === t.metadata.generation ? c : undefined;
    },
    20_000,
    `Applied=${status}`,
  );
}

async function setNodeRole(nodeRole: string | null): Promise<void> {
  await env.client.patch(
    { ...MC, namespace: NS, name: "local" },
    { spec: { aws: { nodeRole, subnetSelector: GOOD_TAGS } } },
    { type: "merge" },
  );
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

  it("for a remote cluster, refuses to hand over a manifest Karpenter's schema refuses, until the input is fixed", async () => {
    await env.client.create({
      ...MC,
      metadata: { name: "far", namespace: NS },
      spec: { mode: "remote", aws: { nodeRole: "KarpenterNodeRole-far" } },
    });
    await env.client.create({
      ...NODE_TEMPLATE,
      metadata: { name: "remote", namespace: NS },
      spec: { clusterRef: { name: "far" }, families: ["m5"] },
    });
    const refused = await appliedCondition("False", "remote");
    expect(refused.reason).toBe("WriteRefused");
    expect(refused.message).toContain(`EC2NodeClass ${karpenterName(NS, "remote")} does not pass Karpenter's schema`);
    const actions = (await env.client.listAll({ ...AA, namespace: NS })).items;
    expect(actions).toEqual([]);

    await env.client.patch(
      { ...MC, namespace: NS, name: "far" },
      { spec: { aws: { subnetSelector: GOOD_TAGS } } },
      { type: "merge" },
    );
    const pending = await eventually(
      async () => {
        const c = await appliedCondition("False", "remote");
        return c.reason === "AgentActionPending" ? c : undefined;
      },
      20_000,
      "handed over",
    );
    expect(pending.reason).toBe("AgentActionPending");
    expect((await env.client.listAll({ ...AA, namespace: NS })).items).toHaveLength(2);
  });
});
