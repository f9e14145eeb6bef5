// Karpenter objects for tests: the smallest valid NodePool + EC2NodeClass pair (written here) and the CRDs the repo
// ships, so that suites need no outside data.
import { readFileSync } from "node:fs";
import * as yaml from "js-yaml";
import { KARPENTER_CRD_FILE } from "../../src-shared/karpenter/crds.js";

/** A NodePool that Karpenter v1's CRD schema accepts with nothing but the required fields. */
export function minimalNodePool(name = "default"): Record<string, any> {
  return {
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name },
    spec: {
      template: {
        spec: {
          nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
          requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }],
        },
      },
    },
  };
}

/** An EC2NodeClass with a role, an AMI alias and discovery-tag selectors. */
export function minimalEC2NodeClass(name = "default"): Record<string, any> {
  const discovery = { tags: { "karpenter.sh/discovery": "my-cluster" } };
  return {
    apiVersion: "karpenter.k8s.aws/v1",
    kind: "EC2NodeClass",
    metadata: { name },
    spec: {
      role: "KarpenterNodeRole-my-cluster",
      amiSelectorTerms: [{ alias: "al2023@latest" }],
      subnetSelectorTerms: [discovery],
      securityGroupSelectorTerms: [structuredClone(discovery)],
    },
  };
}

/** Karpenter's CRD of `kind` (NodePool, NodeClaim, EC2NodeClass) from the generated file the repo ships. */
export function karpenterCrd(kind: string): Record<string, any> {
  const docs = yaml.loadAll(readFileSync(KARPENTER_CRD_FILE, "utf8")) as Record<string, any>[];
  const crd = docs.find((d) => d?.spec?.names?.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind} in ${KARPENTER_CRD_FILE}`);
  return crd;
}
