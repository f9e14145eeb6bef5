// Names, labels and annotations of the per-cluster agent objects: each row a fact one could check by hand.
import { describe, expect, it } from "vitest";
import {
  agentObjectClusterKeys,
  agentObjectMarks,
  agentObjectName,
  agentObjectOf,
  agentObjectOwner,
  belongsTo,
} from "./placement.js";
import { labelValue } from "../karpenter/labels.js";

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

describe("a cluster whose name outgrows a label value", () => {
  const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  const LONG = `long-${"c".repeat(90)}-name`;
  const marked = (namespace: string, cluster: string): object => agentObjectMarks({ namespace, cluster, uid: "u1" });
  const object = (marks: object): { metadata: object } => ({ metadata: marks });

  it("is labelled with valid label values and named in full by the annotations", () => {
    const { labels, annotations } = agentObjectMarks({ namespace: "org-b", cluster: LONG, uid: "u1" });
    for (const value of Object.values(labels)) {
      expect(value.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(LABEL_VALUE);
    }
    expect(labels["spotoptimizer.io/cluster"]).toBe(labelValue(LONG));
    expect(labels["spotoptimizer.io/cluster-uid"]).toBe("u1");
    expect(annotations).toEqual({
      "spotoptimizer.io/organisation-namespace": "org-b",
      "spotoptimizer.io/cluster": LONG,
    });
  });

  it("is read back in full as the owner, its controller key and the object a cache holds under its name", () => {
    const o = object(marked("org-b", LONG));
    expect(agentObjectOwner(o)).toEqual({ namespace: "org-b", cluster: LONG });
    expect(agentObjectClusterKeys(o)).toEqual([`org-b/${LONG}`]);
    const where = { releaseNamespace: "rel", namespace: "org-b", cluster: LONG, suffix: "agent", uid: "u1" };
    const cache = {
      get: (ns: string | undefined, name: string) =>
        ns === "rel" && name === agentObjectName("org-b", LONG, "agent") ? o : undefined,
    };
    expect(agentObjectOf(cache as never, where)).toBe(o);
  });

  it("is not confused with a cluster named like its label value, either way", () => {
    const namesake = labelValue(LONG);
    expect(belongsTo(object(marked("org-b", LONG)), "org-b", namesake)).toBe(false);
    expect(belongsTo(object(marked("org-b", namesake)), "org-b", LONG)).toBe(false);
    expect(belongsTo(object(marked("org-b", namesake)), "org-b", namesake)).toBe(true);
  });

  it("names nobody when a label and its annotation disagree, or the label is missing", () => {
    const { labels, annotations } = agentObjectMarks({ namespace: "org-b", cluster: LONG });
    const otherOrganisation = { ...labels, "spotoptimizer.io/organisation-namespace": "org-a" };
    expect(agentObjectOwner(object({ labels: otherOrganisation, annotations }))).toBeUndefined();
    const otherCluster = { ...annotations, "spotoptimizer.io/cluster": `${LONG}x` };
    expect(agentObjectOwner(object({ labels, annotations: otherCluster }))).toBeUndefined();
    expect(agentObjectOwner(object({ annotations }))).toBeUndefined();
  });

  it("leaves an object written before the annotations (labels only) read by its labels", () => {
    expect(agentObjectOwner(labelled("org-b", "edge", "u1"))).toEqual({ namespace: "org-b", cluster: "edge" });
    expect(belongsTo(labelled("org-b", "edge"), "org-b", "edge")).toBe(true);
  });
});
