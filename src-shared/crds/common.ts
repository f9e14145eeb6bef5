// Shared zod building blocks for our custom resources: metadata, conditions, references and the kind registry type.
import { z } from "zod";

export const GROUP = "spotoptimizer.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = "spotoptimizer";

/** RFC 3339 timestamp as Kubernetes writes it; offsets allowed because users type them in manifests. */
export const rfc3339 = (description: string): z.ZodISODateTime =>
  z.iso.datetime({ offset: true }).describe(description);

/** A Kubernetes object name (DNS-1123 subdomain). */
export const objectName = (description: string): z.ZodString =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
    .describe(description);

/** A namespace name (DNS-1123 label). */
export const namespaceName = (description: string): z.ZodString =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .describe(description);

export const ClusterRef = z
  .object({
    name: objectName("Name of the ManagedCluster in the same namespace."),
  })
  .describe("Reference to the ManagedCluster (same namespace) this object applies to.")
  // What an object did on its old cluster (workloads put to sleep, NodePools written, finalizers held) is undone only
  // while it names that cluster: pointing it elsewhere would strand all of it.
  .meta({
    "x-kubernetes-validations": [
      { rule: "self == oldSelf", message: "clusterRef is immutable: create a new object for another cluster" },
    ],
  });
export type ClusterRef = z.infer<typeof ClusterRef>;

export const ConditionStatus = z.enum(["True", "False", "Unknown"]);
export type ConditionStatus = z.infer<typeof ConditionStatus>;

/** metav1.Condition, field for field, so kubectl and generic tooling understand our status. */
export const Condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe("Type of condition in CamelCase, e.g. Ready, Valid, Applied, AgentConnected."),
    status: ConditionStatus.describe("Status of the condition: True, False or Unknown."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe("Programmatic identifier (CamelCase) for the last transition."),
    message: z.string().max(32768).describe("Human-readable details about the last transition."),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("metadata.generation of the object the condition was computed from."),
    lastTransitionTime: rfc3339("Last time the condition's status changed."),
  })
  .describe("Standard Kubernetes condition (metav1.Condition).");
export type Condition = z.infer<typeof Condition>;

export const Conditions = z
  .array(Condition)
  .describe("Current observations of the object's state, one per condition type.")
  .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });

export const ObservedGeneration = z
  .number()
  .int()
  .min(0)
  .describe("The metadata.generation the controller last acted on.");

/** The subset of ObjectMeta our code reads; unknown fields are kept (loose) so round-trips lose nothing. */
export const ObjectMeta = z
  .object({
    name: z.string().optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().int().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z
      .array(
        z
          .object({
            apiVersion: z.string(),
            kind: z.string(),
            name: z.string(),
            uid: z.string(),
            controller: z.boolean().optional(),
            blockOwnerDeletion: z.boolean().optional(),
          })
          .loose(),
      )
      .optional(),
  })
  .loose();
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export const AGE_COLUMN: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
};

/** Everything about one kind that code outside src-shared/crds needs: names for the API, schemas for validation. */
export interface CrdKind<Spec extends z.ZodType = z.ZodType, Status extends z.ZodType = z.ZodType> {
  group: typeof GROUP;
  version: typeof VERSION;
  apiVersion: typeof API_VERSION;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: "Namespaced";
  /** One paragraph for `kubectl explain <kind>`. */
  description: string;
  spec: Spec;
  status: Status;
  printerColumns: PrinterColumn[];
  /** Whole-object schema (apiVersion, kind, metadata, spec, status). */
  resource: z.ZodType;
}

interface DefineKindInput<Kind extends string, Spec extends z.ZodType, Status extends z.ZodType> {
  kind: Kind;
  plural: string;
  shortNames: string[];
  description: string;
  spec: Spec;
  status: Status;
  printerColumns: PrinterColumn[];
}

type ResourceSchema<Kind extends string, Spec extends z.ZodType, Status extends z.ZodType> = z.ZodObject<{
  apiVersion: z.ZodLiteral<typeof API_VERSION>;
  kind: z.ZodLiteral<Kind>;
  metadata: typeof ObjectMeta;
  spec: Spec;
  status: z.ZodOptional<Status>;
}>;

/** A CrdKind whose kind name and whole-object schema keep their precise types (for z.infer). */
export interface DefinedKind<Kind extends string, Spec extends z.ZodType, Status extends z.ZodType>
  extends Omit<CrdKind<Spec, Status>, "kind" | "resource"> {
  kind: Kind;
  resource: ResourceSchema<Kind, Spec, Status>;
}

/** Fills in the names Kubernetes derives from the kind, and the whole-object schema. */
export function defineKind<Kind extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  input: DefineKindInput<Kind, Spec, Status>,
): DefinedKind<Kind, Spec, Status> {
  const resource = z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(input.kind),
    metadata: ObjectMeta,
    spec: input.spec,
    status: input.status.optional(),
  }) as ResourceSchema<Kind, Spec, Status>;
  return {
    group: GROUP,
    version: VERSION,
    apiVersion: API_VERSION,
    kind: input.kind,
    listKind: `${input.kind}List`,
    plural: input.plural,
    singular: input.kind.toLowerCase(),
    shortNames: input.shortNames,
    categories: [CATEGORY],
    scope: "Namespaced",
    description: input.description,
    spec: input.spec,
    status: input.status,
    printerColumns: [...input.printerColumns, AGE_COLUMN],
    resource,
  };
}
