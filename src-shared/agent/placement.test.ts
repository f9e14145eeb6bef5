// Names and label checks of the per-cluster agent objects: each row a fact one could check by hand.
import { describe, expect, it } from "vitest";
import { agentObjectName, agentObjectOf, agentObjectOwner } from "./placement.js";

const labelled = (
  namespace: string,
  cluster: string,
  uid?: string,
): { metadata: { labels: Record<string, string> } } => ({
  metadata: {
    labels: {
      "spotoptimizer.io/organisation-namespace": namespace,
      "spotoptimizer.io/cluster": cluster,
      ...(uid ? { "spotoptimizer.io/cluster-uid": uid } : {}),
    },
  },
});

describe("agentObjectName", () => {
  it.each([
    ["org-a", "edge", "agent-token", "org-a.edge-agent-token"],
    ["org-a", "edge", "agent", "org-a.edge-agent"],
    // A namespace holds no dot, so the first dot ends it: these two pairs never share a name.
    ["a-b", "c", "agent", "a-b.c-agent"],
    ["a", "b-c", "agent", "a.b-c-agent"],
  ])("%s + %s + %s = %s", (namespace, cluster, suffix, name) => {
    expect(agentObjectName(namespace, cluster, suffix)).toBe(name);
  });

  it("stays within 253 characters for the longest names, still distinct and starting with the namespace", () => {
    const namespace = "n".repeat(63);
    const one = agentObjectName(namespace, "c".repeat(253), "agent-snapshot");
    const two = agentObjectName(namespace, `${"c".repeat(252)}d`, "agent-snapshot");
    expect(one.length).toBeLessThanOrEqual(253);
    expect(one.startsWith(`${namespace}.`)).toBe(true);
    expect(one).not.toBe(two);
  });
});

describe("agentObjectOf", () => {
  const where = { releaseNamespace: "rel", namespace: "org-b", cluster: "edge", suffix: "agent-token" };
  const cacheHolding = (object: unknown) => ({
    get: (ns: string | undefined, name: string) =>
      ns === "rel" && name === "org-b.edge-agent-token" ? object : undefined,
  });

  it("takes the object only when its labels name the organisation and the cluster", () => {
    expect(agentObjectOf(cacheHolding(labelled("org-b", "edge")) as never, where)).toBeDefined();
    expect(agentObjectOf(cacheHolding(labelled("org-a", "edge")) as never, where)).toBeUndefined();
    expect(agentObjectOf(cacheHolding(labelled("org-b", "other")) as never, where)).toBeUndefined();
    expect(agentObjectOf(cacheHolding({ metadata: {} }) as never, where)).toBeUndefined();
  });

  it("with a uid, refuses an object labelled for an earlier cluster of that name", () => {
    expect(
      agentObjectOf(cacheHolding(labelled("org-b", "edge", "u1")) as never, { ...where, uid: "u1" }),
    ).toBeDefined();
    expect(
      agentObjectOf(cacheHolding(labelled("org-b", "edge", "u0")) as never, { ...where, uid: "u1" }),
    ).toBeUndefined();
  });

  it("reads the owner from the labels, not the name", () => {
    expect(agentObjectOwner(labelled("org-b", "edge"))).toEqual({ namespace: "org-b", cluster: "edge" });
    expect(agentObjectOwner({ metadata: { name: "org-b.edge-agent" } })).toBeUndefined();
  });
});
