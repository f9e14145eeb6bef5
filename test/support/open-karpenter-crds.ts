// Test support: Karpenter's NodePool, EC2NodeClass and NodeClaim kinds with an open schema, for tests that show the
// operator's own checks catch what such a schema lets through (local mode serves the real schemas).

interface OpenKind {
  group: string;
  kind: string;
  plural: string;
  scope: "Cluster" | "Namespaced";
  shortNames: string[];
}

const KARPENTER_KINDS: readonly OpenKind[] = [
  { group: "karpenter.sh", kind: "NodePool", plural: "nodepools", scope: "Cluster", shortNames: [] },
  { group: "karpenter.sh", kind: "NodeClaim", plural: "nodeclaims", scope: "Cluster", shortNames: [] },
  {
    group: "karpenter.k8s.aws",
    kind: "EC2NodeClass",
    plural: "ec2nodeclasses",
    scope: "Cluster",
    shortNames: ["ec2nc", "ec2ncs"],
  },
];

/** CustomResourceDefinitions (apiextensions.k8s.io/v1) for Karpenter's v1 kinds with an open, structural schema. */
export function openKarpenterCrds(): Record<string, unknown>[] {
  return KARPENTER_KINDS.map((k) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${k.plural}.${k.group}`,
      annotations: {
        "spotoptimizer.io/test": "open schema",
      },
    },
    spec: {
      group: k.group,
      scope: k.scope,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.kind.toLowerCase(),
        shortNames: k.shortNames,
        categories: ["karpenter"],
      },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  }));
}
