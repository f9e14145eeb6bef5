// A NodePool made by hand under the name the controller generates for a template is not taken over: the template says
// NameConflict and writes nothing, deleting the template leaves that NodePool alone, and once it is gone the template
// applies its own.
import { beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { useTemplateCluster } from "../support/template-cluster.js";
import type { KubeObject } from "../../src-shared/kube/index.js";
import { MANAGED_BY_LABEL, karpenterName } from "../../src-shared/karpenter/labels.js";

const NS = "org-a";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;

const env = useTemplateCluster({ namespace: NS });
/** A valid NodePool spec to make someone else's NodePool from (a template's, applied by the controller). */
let poolSpec: unknown;

function template(name: string): KubeObject {
  return { ...NT, metadata: { name, namespace: NS }, spec: { clusterRef: { name: "local" }, families: ["m5"] } };
}

async function applied(name: string): Promise<any> {
  const t = await env.client.getIfExists<any>({ ...NT, namespace: NS, name });
  const c = (t?.status?.conditions ?? []).find((x: any) => x.type === "Applied");
  return c?.observedGeneration === t?.metadata.generation ? c : undefined;
}

/** A NodePool someone made by hand under the name the controller generates for template `name`. */
async function handMadePool(name: string): Promise<KubeObject> {
  return env.client.create({
    ...NP,
    metadata: { name: karpenterName(NS, name), labels: { team: "data" } },
    spec: poolSpec,
  });
}

async function nameConflict(name: string): Promise<any> {
  return eventually(
    async () => {
      const c = await applied(name);
      return c?.status === "False" && c.reason === "NameConflict" ? c : undefined;
    },
    15_000,
    `${name} Applied=False NameConflict`,
  );
}

beforeAll(async () => {
  await env.client.create(template("seed"));
  const seed = await eventually(() => env.client.getIfExists<any>({ ...NP, name: karpenterName(NS, "seed") }), 15_000);
  poolSpec = seed.spec;
}, 30_000);

describe("nodetemplate controller: a NodePool it did not create under its generated name", () => {
  it("is left untouched, the template says NameConflict, and applies its own once that NodePool is gone", async () => {
    const name = karpenterName(NS, "web");
    const theirs = await handMadePool("web");
    await env.client.create(template("web"));
    const conflict = await nameConflict("web");
    expect(conflict.message).toContain(`NodePool ${name} exists but was not created by spot-optimizer`);
    await env.manager.idle();
    const after = await env.client.get<any>({ ...NP, name });
    expect(after.metadata.resourceVersion).toBe(theirs.metadata?.resourceVersion);
    expect(after.metadata.labels).toEqual({ team: "data" });
    // Nothing of the pair is written while one name is taken.
    expect(await env.client.getIfExists({ ...NC, name })).toBeUndefined();

    await env.client.delete({ ...NP, name });
    await eventually(async () => (await applied("web"))?.status === "True", 15_000, "web Applied=True");
    const ours = await env.client.get<any>({ ...NP, name });
    expect(ours.metadata.uid).not.toBe(theirs.metadata?.uid);
    expect(ours.metadata.labels[MANAGED_BY_LABEL]).toBe("spot-optimizer");
  });

  it("survives the deletion of the template that named it", async () => {
    const name = karpenterName(NS, "api");
    const theirs = await handMadePool("api");
    await env.client.create(template("api"));
    await nameConflict("api");
    await env.client.delete({ ...NT, namespace: NS, name: "api" });
    await eventually(
      async () => (await env.client.getIfExists({ ...NT, namespace: NS, name: "api" })) === undefined,
      15_000,
      "api gone",
    );
    await env.manager.idle();
    const after = await env.client.get<any>({ ...NP, name });
    expect(after.metadata.uid).toBe(theirs.metadata?.uid);
    expect(after.metadata.resourceVersion).toBe(theirs.metadata?.resourceVersion);
  });
});
