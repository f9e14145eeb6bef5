// The facade's error texts for writes the API server refuses (409 AlreadyExists, 422 from the CRD schema and its CEL
// rules): the detail names the request field in the facade's words, never a CRD plural, group, kind or field path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
const CRD = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };
/** Words only Kubernetes knows; none may reach a facade answer. */
const KUBE_WORDS = /nodetemplates|spotoptimizer\.io|NodeTemplate|spec\.|v1alpha1|Go struct|in body/;

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  await f.client.create({ ...MC, metadata: { name: "prod", namespace: f.orgA }, spec: { mode: "remote" } });
  await eventually(() => f.cache.cluster(f.orgA, "prod"));
});
afterAll(async () => {
  await f?.stop();
});

const template = (body: Record<string, unknown>): Promise<{ status: number; body: any }> =>
  f.call("POST", "/templates", { token: f.token(f.orgA), body: { cluster_id: "prod", families: ["m5"], ...body } });

describe("Kubernetes refusals in the facade's words", () => {
  it("409 AlreadyExists names the template, not the resource plural", async () => {
    expect((await template({ name: "batch" })).status).toBe(201);
    const dup = await template({ name: "Batch" });
    expect(dup.status).toBe(409);
    expect(dup.body.detail).toBe('template "batch" already exists');
  });

  it("422 from the CRD schema and from a CEL rule names the request field", async () => {
    // A stricter NodeTemplate CRD installed ahead of this facade (as during an upgrade): only the API server knows.
    const crd = await f.client.get<any>({ ...CRD, name: "nodetemplates.spotoptimizer.io" });
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    spec.properties.diskSize.maximum = 1000;
    spec.properties.families["x-kubernetes-validations"] = [
      { rule: "self.all(f, f != 'p3')", message: "p3 is not allowed in this cluster" },
    ];
    await f.client.replace(crd);
    await eventually(async () => (await template({ name: "probe", disk_size: 2000 })).status === 422);

    const tooBig = await template({ name: "big", disk_size: 2000 });
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.detail).toBe("disk_size: should be less than or equal to 1000");
    expect(tooBig.body.detail).toContain("1000");
    expect(tooBig.body.detail).not.toMatch(KUBE_WORDS);

    const cel = await template({ name: "gpu", families: ["p3"] });
    expect(cel.status).toBe(422);
    expect(cel.body.detail).toBe("families: p3 is not allowed in this cluster");
    await expect(f.client.getIfExists({ ...NT, namespace: f.orgA, name: "gpu" })).resolves.toBeUndefined();
  });

  it("a schedule the engine refuses names the request field", async () => {
    const res = await f.call("PATCH", "/hibernation/tz", {
      token: f.token(f.orgA),
      body: { cluster_id: "prod", timezone: "Mars/Olympus_Mons" },
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/^timezone: unknown time zone/);
  });
});
