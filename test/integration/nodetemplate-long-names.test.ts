// NodeTemplates whose names outgrow a label value (object names reach 253 characters, labels 63) on a remote cluster:
// their AgentActions are created and followed like any other's, a template named like another's label value never
// takes that template's actions for its own, and actions labelled before the full name was kept beside the label
// still count for their template.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { NODE_TEMPLATE, useTemplateCluster } from "../support/template-cluster.js";
import { TEMPLATE_ACTION_LABEL } from "../../operator/controllers/nodetemplate/executor.js";
import { karpenterName, labelValue } from "../../src-shared/karpenter/labels.js";

const NS = "org-long";
const CLUSTER = "far";
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const AA = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AgentAction" } as const;
/** The longest name an object may have. */
const LONG = `a${"b".repeat(251)}c`;
/** A legal name that is exactly the label value of LONG's actions. */
const NAMESAKE = labelValue(LONG);

const env = useTemplateCluster({ namespace: NS });

async function actions(): Promise<any[]> {
  return (await env.client.listAll({ ...AA, namespace: NS })).items as any[];
}

/** The AgentActions that name `template`: by the full name beside the label, else (made before it) by the label. */
async function actionsOf(template: string): Promise<any[]> {
  return (await actions()).filter(
    (a) => (a.metadata.annotations?.[TEMPLATE_ACTION_LABEL] ?? a.metadata.labels?.[TEMPLATE_ACTION_LABEL]) === template,
  );
}

async function createTemplate(name: string): Promise<void> {
  await env.client.create({
    ...NODE_TEMPLATE,
    metadata: { name, namespace: NS },
    spec: { clusterRef: { name: CLUSTER }, families: ["m5"] },
  });
}

async function applied(name: string, status: "True" | "False", reason: string): Promise<any> {
  return eventually(
    async () => {
      const t = (await env.client.getIfExists({ ...NODE_TEMPLATE, namespace: NS, name })) as any;
      const c = (t?.status?.conditions ?? []).find((x: any) => x.type === "Applied");
      return c?.status === status && c.reason === reason && c.observedGeneration === t.metadata.generation
        ? t
        : undefined;
    },
    20_000,
    `${name.slice(0, 20)}… Applied=${status} ${reason}`,
  );
}

/** What the cluster's agent would report: every open action of the template done. */
async function agentCompletes(template: string): Promise<void> {
  for (const a of await actionsOf(template)) {
    if (a.status?.phase === "Succeeded") continue;
    await env.client.patch(
      { ...AA, namespace: NS, name: a.metadata.name },
      { status: { phase: "Succeeded", attempts: 1, completedAt: new Date().toISOString(), result: { message: "ok" } } },
      { type: "merge", subresource: "status" },
    );
  }
}

describe("NodeTemplate names longer than a label value, on a remote cluster", () => {
  it("hands a 253-character template to the agent, and keeps a namesake of its label value apart", async () => {
    await env.client.create({ ...MC, metadata: { name: CLUSTER, namespace: NS }, spec: { mode: "remote" } });
    await createTemplate(LONG);
    await createTemplate(NAMESAKE);
    await applied(LONG, "False", "AgentActionPending");
    await applied(NAMESAKE, "False", "AgentActionPending");
    const longs = await actionsOf(LONG);
    expect(longs.map((a) => a.spec.target.name)).toEqual([karpenterName(NS, LONG), karpenterName(NS, LONG)]);
    expect(longs.every((a) => a.metadata.labels[TEMPLATE_ACTION_LABEL] === NAMESAKE)).toBe(true);
    expect((await actionsOf(NAMESAKE)).map((a) => a.spec.target.name)).toEqual([
      karpenterName(NS, NAMESAKE),
      karpenterName(NS, NAMESAKE),
    ]);
    // The Events about it are recorded too (their names are built from the template's).
    const events = (await env.client.listAll({ apiVersion: "v1", kind: "Event", namespace: NS })).items as any[];
    expect(events.some((e) => e.involvedObject?.name === LONG && e.reason === "AgentActionPending")).toBe(true);

    await agentCompletes(LONG);
    await agentCompletes(NAMESAKE);
    await applied(LONG, "True", "Applied");
    await applied(NAMESAKE, "True", "Applied");

    // Deleting the long one removes its own objects only: the namesake's share the label value, not the name.
    await env.client.delete({ ...NODE_TEMPLATE, namespace: NS, name: LONG });
    await eventually(async () => (await actionsOf(LONG)).some((a) => a.spec.type === "delete"), 20_000, "deletes");
    await agentCompletes(LONG);
    await eventually(
      async () => !(await env.client.getIfExists({ ...NODE_TEMPLATE, namespace: NS, name: LONG })),
      20_000,
      "long template gone",
    );
    const deletes = (await actions()).filter((a) => a.spec.type === "delete");
    expect(deletes.map((a) => a.spec.target.name)).not.toContain(karpenterName(NS, NAMESAKE));
    const namesake = await actionsOf(NAMESAKE);
    expect(namesake.map((a) => `${a.spec.type} ${a.status?.phase}`)).toEqual(["apply Succeeded", "apply Succeeded"]);
    await applied(NAMESAKE, "True", "Applied");
  });

  it("still counts actions labelled with the template's name alone as that template's", async () => {
    await createTemplate("legacy");
    await applied("legacy", "False", "AgentActionPending");
    // As an operator before the full name was kept beside the label made them.
    for (const a of await actionsOf("legacy"))
      await env.client.patch(
        { ...AA, namespace: NS, name: a.metadata.name },
        { metadata: { annotations: { [TEMPLATE_ACTION_LABEL]: null } } },
        { type: "merge" },
      );
    await agentCompletes("legacy");
    await applied("legacy", "True", "Applied");
    const legacy = await actionsOf("legacy");
    expect(legacy).toHaveLength(2);
    expect(legacy.every((a) => a.metadata.annotations?.[TEMPLATE_ACTION_LABEL] === undefined)).toBe(true);
  });
});
