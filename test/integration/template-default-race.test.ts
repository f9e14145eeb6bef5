// One default template per cluster, held by the NodeTemplate controller: two facade replicas moving the default and
// kubectl edits of isDefault racing end with exactly one isDefault, the one the ManagedCluster names, whose NodePool
// has the higher weight; each PATCH /templates/{id}/default answers the default it replaced.
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, projectCrdDir, repoRoot } from "../support/cluster.js";
import { call, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { DEFAULT_WEIGHT, OTHER_WEIGHT } from "../../operator/controllers/nodetemplate/desired.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";

const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" };
const NAMES = ["t1", "t2", "t3", "t4"];

let t: TestFacade;
let owner: SignedUp;
let manager: ControllerManager;

beforeAll(async () => {
  // Karpenter's kinds as local mode serves them (the generated CRDs), so the controller can write NodePools.
  t = await startTestFacade({}, { crds: [projectCrdDir, join(repoRoot, "src-shared/karpenter/crds.generated.yaml")] });
  await t.startReplica();
  owner = await t.signup("Race Corp");
  await designateLocalCluster(t.client, { namespace: owner.namespace, name: "local", spec: { region: "us-east-1" } });
  manager = new ControllerManager({ client: t.client });
  await registerNodeTemplateController({ manager, client: t.client });
  manager.start();
  await manager.waitForCacheSync();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await t?.stop();
});

async function templates(): Promise<any[]> {
  return (await t.client.list<any>({ ...NT, namespace: owner.namespace })).items;
}

it("two facade replicas and kubectl edits racing end with one default, the one the cluster names", async () => {
  const [a, b] = t.facades.map((f) => f.url) as [string, string];
  for (const name of NAMES) {
    const res = await call(a, "POST", "/templates", {
      token: owner.accessToken,
      body: { name, families: ["m5", "c5"], cluster_id: "local" },
    });
    expect(res.status).toBe(201);
  }
  await eventually(
    async () => (await templates()).every((x) => x.status?.conditions?.some((c: any) => c.type === "Applied")),
    20_000,
    "templates applied",
  );
  const moves = [
    call(a, "PATCH", "/templates/t2/default", { token: owner.accessToken }),
    call(b, "PATCH", "/templates/t3/default", { token: owner.accessToken }),
    // kubectl edits that contradict the facade's moves
    t.client.patch({ ...NT, namespace: owner.namespace, name: "t1" }, { spec: { isDefault: true } }, { type: "merge" }),
    call(a, "PATCH", "/templates/t4/default", { token: owner.accessToken }),
    t.client.patch({ ...NT, namespace: owner.namespace, name: "t3" }, { spec: { isDefault: true } }, { type: "merge" }),
  ];
  const settled = await Promise.all(moves);
  const answers = [settled[0], settled[1], settled[3]].map((r: any) => r.body);
  expect(answers.map((r) => r.new_default)).toEqual(["t2", "t3", "t4"]);
  // Each move replaced the previous one whole: the answers chain t1 → x → y → z, no default reported twice.
  const previous = answers.map((r) => r.previous_default);
  expect(new Set(previous).size).toBe(3);
  expect(previous).toContain("t1");
  const last = ["t2", "t3", "t4"].find((n) => !previous.includes(n))!;
  const held = await eventually(
    async () => {
      const flagged = (await templates()).filter((x) => x.spec.isDefault === true).map((x) => x.metadata.name);
      const cluster = await t.client.get<any>({ ...MC, namespace: owner.namespace, name: "local" });
      return flagged.length === 1 && flagged[0] === cluster.spec.defaultTemplate ? flagged[0] : undefined;
    },
    20_000,
    "exactly one isDefault, named by the cluster",
  );
  expect(held).toBe(last);
  for (const name of NAMES)
    await eventually(
      async () =>
        (await t.client.getIfExists<any>({ ...NP, name: karpenterName(owner.namespace, name) }))?.spec.weight ===
        (name === last ? DEFAULT_WEIGHT : OTHER_WEIGHT),
      20_000,
      `weight of ${name}`,
    );
}, 90_000);
