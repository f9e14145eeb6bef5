// Integration: server-side apply semantics the helpers rely on: removal of dropped fields, status apply via the subresource.
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApiServer, type LocalApiServer } from "../../src-shared/apiserver/index.js";
import { NodeTemplateKind } from "../../src-shared/crds/index.js";
import { KubeClient, getCr, type KubeObject } from "../../src-shared/kube/index.js";
import { applyObject, applyStatus, setCondition } from "../../src-shared/runtime/index.js";

let server: LocalApiServer;
let client: KubeClient;
const writes: string[] = [];
const ns = "apply-ssa-test";

beforeAll(async () => {
  server = await startLocalApiServer({ port: 0 });
  await server.installCrdFiles([resolve(import.meta.dirname, "../../crds")]);
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  server.faults.onWrite((w) => writes.push(`${w.verb} ${w.resource}/${w.name}`));
});

afterAll(async () => {
  server.faults.onWrite(undefined);
  client.close();
  await server.stop();
});

function template(families: string[], labels: Record<string, string> = { team: "a" }): KubeObject {
  return {
    apiVersion: NodeTemplateKind.apiVersion,
    kind: NodeTemplateKind.kind,
    metadata: { name: "general", namespace: ns, labels },
    spec: { clusterRef: { name: "prod" }, families, strategy: "SPOT" },
  };
}

const ref = { apiVersion: NodeTemplateKind.apiVersion, kind: NodeTemplateKind.kind, namespace: ns, name: "general" };

describe("applyObject and applyStatus with field ownership", () => {
  beforeAll(async () => {
    await applyObject(client, template(["m5", "c5"]));
  });

  it("writes when a value changes, and removes a field it applied before and omits now", async () => {
    const changed = await applyObject(client, template(["m5"], { team: "a", tier: "gold" }));
    expect(changed.changed).toBe(true);
    const dropped = await applyObject(client, template(["m5"], { team: "a" }));
    expect(dropped.changed).toBe(true);
    const onServer = await getCr(client, NodeTemplateKind, ns, "general");
    expect(onServer?.spec.families).toEqual(["m5"]);
    expect(onServer?.metadata.labels).toEqual({ team: "a" });
    // Defaults from the CRD schema were filled in by the server and do not count as a change.
    expect(onServer?.spec.architecture).toBe("x86_64");
    expect((await applyObject(client, template(["m5"], { team: "a" }))).changed).toBe(false);
  });

  it("applies status through the subresource, leaves spec alone, and skips an unchanged status", async () => {
    const before = await client.get(ref);
    const conditions = setCondition([], { type: "Valid", status: "True", reason: "FamiliesKnown", observedGeneration: before.metadata?.generation });
    const status = { observedGeneration: before.metadata?.generation, warnings: [], conditions };
    const applied = await applyStatus(client, { ...template(["ignored"]), status });
    expect(applied.changed).toBe(true);
    const after = await getCr(client, NodeTemplateKind, ns, "general");
    expect(after?.spec.families).toEqual(["m5"]);
    expect(after?.status?.conditions?.[0]).toMatchObject({ type: "Valid", status: "True", reason: "FamiliesKnown" });
    expect(after?.metadata.generation).toBe(before.metadata?.generation);

    // Re-computing the same condition later keeps lastTransitionTime, so the status is identical: no write.
    const again = setCondition(after?.status?.conditions, { type: "Valid", status: "True", reason: "FamiliesKnown", observedGeneration: before.metadata?.generation }, new Date(Date.now() + 60_000));
    writes.length = 0;
    const second = await applyStatus(client, { ...template(["m5"]), status: { ...status, conditions: again } });
    expect(second.changed).toBe(false);
    expect(writes).toEqual([]);

    // A flip moves lastTransitionTime and is written.
    const flipped = setCondition(again, { type: "Valid", status: "False", reason: "UnknownFamily", message: "x9 unknown" }, new Date(Date.now() + 120_000));
    expect((await applyStatus(client, { ...template(["m5"]), status: { ...status, conditions: flipped } })).changed).toBe(true);
    const final = await getCr(client, NodeTemplateKind, ns, "general");
    expect(final?.status?.conditions?.[0]?.status).toBe("False");
    expect(final?.status?.conditions?.[0]?.lastTransitionTime).not.toBe(after?.status?.conditions?.[0]?.lastTransitionTime);
  });

});
