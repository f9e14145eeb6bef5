// Sample custom resources per kind (valid and invalid) shared by the CRD unit tests and the API-server admission tests.
import { API_VERSION, type CrdKind } from "../../src-shared/crds/index.js";

export const sampleMeta = { name: "prod", namespace: "org-acme" };
/** Per kind: one valid spec/status and invalid variants, each wrong in one field. */
export const crdSamples: Record<string, { valid: object; invalid: object[] }> = {
  ManagedCluster: {
    valid: {
      spec: {
        mode: "remote",
        displayName: "Prod",
        region: "us-east-1",
        k8sVersion: "1.31",
        aws: {
          nodeRole: "KarpenterNode",
          amiAlias: "al2023@latest",
          subnetSelector: { "karpenter.sh/discovery": "prod" },
        },
      },
      status: {
        nodeCount: 3,
        spotPercentage: 66.7,
        agent: { health: "healthy", lastSeen: "2025-01-01T00:00:00Z" },
        conditions: [
          {
            type: "AgentConnected",
            status: "True",
            reason: "HeartbeatReceived",
            message: "",
            lastTransitionTime: "2025-01-01T00:00:00Z",
          },
        ],
      },
    },
    invalid: [
      { spec: { mode: "hybrid" } },
      { spec: { region: "Mars" } },
      { spec: {}, status: { spotPercentage: 120 } },
      // What Karpenter's EC2NodeClass would refuse on every write of the cluster's templates (tag keys: a CEL rule,
      // tested in crds-admission.test.ts).
      { spec: { aws: { nodeRole: "" } } },
      { spec: { aws: { securityGroupSelector: { "a b": "" } } } },
      { spec: { aws: { subnetSelector: {} } } },
    ],
  },
  NodeTemplate: {
    valid: {
      spec: {
        clusterRef: { name: "prod" },
        families: ["m5", "c5"],
        architecture: "x86_64",
        strategy: "SPOT",
        diskType: "gp3",
        diskSize: 50,
        isDefault: true,
      },
    },
    invalid: [
      { spec: { clusterRef: { name: "prod" }, families: [] } },
      { spec: { clusterRef: { name: "prod" }, families: ["m5"], strategy: "spot" } },
      { spec: { families: ["m5"] } },
      { spec: { clusterRef: { name: "prod" }, families: ["m5"], diskSize: "20" } },
      // Bounded lists: every family is checked and may add a status warning.
      { spec: { clusterRef: { name: "prod" }, families: new Array(51).fill("m5") } },
      { spec: { clusterRef: { name: "prod" }, families: ["m".repeat(41)] } },
    ],
  },
  OptimizationPolicy: {
    valid: {
      spec: {
        clusterRef: { name: "prod" },
        karpenter: { enabled: true },
        strategy: "lowest-price",
        binpack: { aggressiveness: 80 },
        spotFallback: { enabled: true },
        azSpread: { enabled: false },
        exclusions: { namespaces: ["payments"] },
      },
    },
    invalid: [
      { spec: { clusterRef: { name: "prod" }, binpack: { aggressiveness: 101 } } },
      { spec: { clusterRef: { name: "prod" }, strategy: "cheapest" } },
    ],
  },
  HibernationSchedule: {
    valid: {
      spec: {
        clusterRef: { name: "prod" },
        timezone: "Europe/Berlin",
        weekly: [
          { days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "24:00" },
          { days: ["Fri"], start: "22:00", end: "06:00" },
        ],
        exceptions: [{ date: "2025-12-25", action: "force_sleep" }],
        override: { action: "wake", from: "2025-03-30T01:30:00+01:00", durationHours: 2.5 },
        prewarmMinutes: 15,
        excludedNamespaces: ["monitoring"],
        enforce: true,
        gracePeriodMinutes: 15,
      },
      status: {
        state: "asleep",
        nextTransition: "2025-03-31T06:00:00Z",
        managed: { deployments: 3 },
        projectedMonthlySavingsUsd: 120.5,
        savingsBaseline: "current nodes 24x7",
        savingsAsOf: "2025-03-01T00:00:00Z",
      },
    },
    invalid: [
      { spec: { clusterRef: { name: "prod" }, weekly: [{ days: ["Monday"], start: "08:00", end: "18:00" }] } },
      { spec: { clusterRef: { name: "prod" }, weekly: [{ days: ["Mon"], start: "24:00", end: "18:00" }] } },
      { spec: { clusterRef: { name: "prod" }, weekly: [{ days: ["Mon"], start: "8:00", end: "18:00" }] } },
      { spec: { clusterRef: { name: "prod" }, matrix: [1, 0, 1] } },
      { spec: { clusterRef: { name: "prod" }, exceptions: [{ date: "2025-02-30", action: "force_sleep" }] } },
      { spec: { clusterRef: { name: "prod" }, override: { action: "wake", from: "yesterday", durationHours: 1 } } },
      {
        spec: {
          clusterRef: { name: "prod" },
          override: { action: "wake", from: "2025-01-01T00:00:00Z", durationHours: 0 },
        },
      },
    ],
  },
  LabExperiment: {
    valid: {
      spec: {
        mode: "parallel",
        arms: [
          { name: "a", target: "i-0abc123", model: "Conservative-v1" },
          { name: "b", target: "i-0def456", model: "Aggressive-v2" },
        ],
        durationHours: 24,
      },
      status: { phase: "Running", arms: [{ name: "a", interruptions: 0, bootTimeSeconds: 45 }] },
    },
    invalid: [
      { spec: { mode: "serial", arms: [{ name: "a", target: "x", model: "m" }] } },
      { spec: { mode: "parallel", arms: [] } },
      { spec: { mode: "live-switch", arms: [{ name: "a", target: "x", model: "m" }], durationHours: 1e-9 } },
    ],
  },
  AgentAction: {
    valid: {
      spec: {
        clusterRef: { name: "prod" },
        type: "scale",
        target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "api" },
        params: { replicas: 0, nested: { anything: [1, "two"] } },
        deadline: "2025-01-01T00:05:00Z",
      },
      status: { phase: "Succeeded", attempts: 1, result: { message: "scaled", data: { previousReplicas: 3 } } },
    },
    invalid: [
      { spec: { clusterRef: { name: "prod" }, type: "explode", target: { kind: "Node", name: "n1" } } },
      { spec: { clusterRef: { name: "prod" }, type: "cordon" } },
    ],
  },
  AuditEntry: {
    valid: {
      spec: {
        actor: "alice@example.com",
        event: "Modified Hibernation Schedule",
        resource: "prod",
        outcome: "success",
        timestamp: "2025-01-01T00:00:00.123Z",
        sequence: 0,
        before: { max_nodes: 10 },
        after: { max_nodes: 15 },
        prevHash: "",
      },
      status: { hash: "a".repeat(64) },
    },
    invalid: [
      { spec: { actor: "alice", event: "x", resource: "r", outcome: "ok", prevHash: "" } },
      { spec: { actor: "alice", event: "x", resource: "r", outcome: "success", prevHash: "not-hex" } },
    ],
  },
};

/** A whole object of `kind` with the sample metadata and the given spec/status. */
export function sampleObject(kind: CrdKind, body: object, metadata: object = sampleMeta): object {
  return { apiVersion: API_VERSION, kind: kind.kind, metadata, ...body };
}
