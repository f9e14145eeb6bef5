// Compact OpenAPI schemas (with descriptions) of the built-in kinds the project uses, for /openapi and kubectl explain.
type Schema = Record<string, unknown>;

export const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
export const LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
export const LABEL_SELECTOR = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector";
export const POD_TEMPLATE_SPEC = "io.k8s.api.core.v1.PodTemplateSpec";

const s = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
const i = (description: string, format = "int32"): Schema => ({ type: "integer", format, description });
const b = (description: string): Schema => ({ type: "boolean", description });
const strMap = (description: string, extra: Schema = {}): Schema => ({
  type: "object",
  additionalProperties: { type: "string", default: "" },
  description,
  ...extra,
});
const obj = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: "object",
  description,
  properties,
  ...extra,
});
/** A `$ref` with its own description, the way kube-openapi v3 writes it. */
export const ref = (name: string, description: string, prefix: string): Schema => ({
  allOf: [{ $ref: `${prefix}${name}` }],
  description,
  default: {},
});
const mapList = (description: string, items: Schema, keys: string[], extra: Schema = {}): Schema => ({
  type: "array",
  description,
  items,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": keys,
  "x-kubernetes-patch-merge-key": keys[0],
  "x-kubernetes-patch-strategy": "merge",
  ...extra,
});
const atomicList = (description: string, items: Schema): Schema => ({
  type: "array",
  description,
  items,
  "x-kubernetes-list-type": "atomic",
});
const quantity: Schema = {
  "x-kubernetes-int-or-string": true,
  anyOf: [{ type: "integer" }, { type: "string" }],
  description: "Quantity is a fixed-point representation of a number, e.g. 500m or 2Gi.",
};
const timeS = (description: string): Schema => ({ type: "string", format: "date-time", description });

const conditionsList = (kindName: string): Schema =>
  mapList(
    `Current service state of the ${kindName}.`,
    obj(
      "A condition of the object.",
      {
        type: s("Type of condition."),
        status: s("Status of the condition, one of True, False, Unknown."),
        reason: s("Unique, one-word, CamelCase reason for the condition's last transition."),
        message: s("Human-readable message indicating details about the last transition."),
        lastTransitionTime: timeS("Last time the condition transitioned from one status to another."),
        observedGeneration: i("The .metadata.generation that the condition was set based upon.", "int64"),
      },
      { required: ["type", "status"] },
    ),
    ["type"],
  );

/** Shared definitions referenced by the kinds below; `prefix` is `#/components/schemas/` (v3) or `#/definitions/` (v2). */
export function sharedSchemas(prefix: string): Record<string, Schema> {
  const container = obj(
    "A single application container that you want to run within a pod.",
    {
      name: s("Name of the container specified as a DNS_LABEL. Each container in a pod must have a unique name."),
      image: s("Container image name."),
      command: atomicList("Entrypoint array.", { type: "string", default: "" }),
      args: atomicList("Arguments to the entrypoint.", { type: "string", default: "" }),
      env: mapList(
        "List of environment variables to set in the container.",
        obj(
          "An environment variable.",
          { name: s("Name of the environment variable."), value: s("Variable value.") },
          { required: ["name"] },
        ),
        ["name"],
      ),
      ports: mapList(
        "List of ports to expose from the container.",
        obj(
          "A network port in a single container.",
          {
            containerPort: i("Port number to expose on the pod's IP address."),
            protocol: s('Protocol for port: UDP, TCP, or SCTP. Defaults to "TCP".'),
            name: s("Name of the port."),
          },
          { required: ["containerPort"] },
        ),
        ["containerPort", "protocol"],
      ),
      resources: obj("Compute Resources required by this container.", {
        requests: {
          type: "object",
          additionalProperties: quantity,
          description: "Minimum amount of compute resources required.",
        },
        limits: {
          type: "object",
          additionalProperties: quantity,
          description: "Maximum amount of compute resources allowed.",
        },
      }),
      volumeMounts: mapList(
        "Pod volumes to mount into the container's filesystem.",
        obj("A mounting of a Volume within a container.", {
          name: s("Name of the volume."),
          mountPath: s("Path within the container at which the volume should be mounted."),
        }),
        ["mountPath"],
      ),
    },
    { required: ["name"] },
  );
  const podSpec = obj(
    "PodSpec is a description of a pod.",
    {
      containers: mapList("List of containers belonging to the pod.", container, ["name"]),
      initContainers: mapList("List of initialization containers belonging to the pod.", container, ["name"]),
      nodeName: s("Request to schedule this pod onto a specific node."),
      nodeSelector: strMap("Selector which must match a node's labels for the pod to be scheduled on that node.", {
        "x-kubernetes-map-type": "atomic",
      }),
      tolerations: atomicList(
        "The pod's tolerations.",
        obj("Toleration of a taint.", {
          key: s("Taint key."),
          operator: s("Exists or Equal."),
          value: s("Taint value."),
          effect: s("Taint effect to match."),
        }),
      ),
      affinity: {
        type: "object",
        description: "The pod's scheduling constraints.",
        "x-kubernetes-preserve-unknown-fields": true,
      },
      priorityClassName: s("Indicates the pod's priority."),
      serviceAccountName: s("Name of the ServiceAccount to use to run this pod."),
      terminationGracePeriodSeconds: i("Duration in seconds the pod needs to terminate gracefully.", "int64"),
      volumes: mapList(
        "List of volumes that can be mounted by containers belonging to the pod.",
        {
          type: "object",
          description: "A named volume.",
          properties: { name: s("Volume's name.") },
          "x-kubernetes-preserve-unknown-fields": true,
        },
        ["name"],
      ),
      restartPolicy: s("Restart policy for all containers within the pod: Always, OnFailure, Never."),
    },
    { required: ["containers"] },
  );
  return {
    [OBJECT_META]: obj(
      "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
      {
        name: s("Name must be unique within a namespace."),
        generateName: s("An optional prefix used by the server to generate a unique name."),
        namespace: s("Namespace defines the space within which each name must be unique."),
        selfLink: s("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
        uid: s("UID is the unique in time and space value for this object."),
        resourceVersion: s("An opaque value that represents the internal version of this object."),
        generation: i("A sequence number representing a specific generation of the desired state.", "int64"),
        creationTimestamp: timeS("Timestamp representing the server time when this object was created."),
        deletionTimestamp: timeS("RFC 3339 date and time at which this resource will be deleted."),
        deletionGracePeriodSeconds: i("Number of seconds allowed for this object to gracefully terminate.", "int64"),
        labels: strMap("Map of string keys and values that can be used to organize and categorize objects."),
        annotations: strMap("Annotations is an unstructured key value map stored with a resource."),
        ownerReferences: mapList(
          "List of objects depended by this object.",
          obj(
            "Information to identify an owning object.",
            {
              apiVersion: s("API version of the referent."),
              kind: s("Kind of the referent."),
              name: s("Name of the referent."),
              uid: s("UID of the referent."),
              controller: b("If true, this reference points to the managing controller."),
              blockOwnerDeletion: b("If true, the owner cannot be deleted before this object."),
            },
            { required: ["apiVersion", "kind", "name", "uid"], "x-kubernetes-map-type": "atomic" },
          ),
          ["uid"],
        ),
        finalizers: {
          type: "array",
          description: "Must be empty before the object is deleted from the registry.",
          items: { type: "string", default: "" },
          "x-kubernetes-list-type": "set",
          "x-kubernetes-patch-strategy": "merge",
        },
        managedFields: atomicList(
          "Maps workflow-id and version to the set of fields that are managed by that workflow.",
          {
            type: "object",
            description:
              "A workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.",
            "x-kubernetes-preserve-unknown-fields": true,
          },
        ),
      },
    ),
    [LIST_META]: obj("ListMeta describes metadata that synthetic resources must have.", {
      selfLink: s("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
      resourceVersion: s("String that identifies the server's internal version of this object."),
      continue: s("Set if the user should retrieve more results."),
      remainingItemCount: i("The number of subsequent items in the list.", "int64"),
    }),
    [LABEL_SELECTOR]: obj(
      "A label selector is a label query over a set of resources.",
      {
        matchLabels: strMap("A map of {key,value} pairs."),
        matchExpressions: atomicList(
          "A list of label selector requirements.",
          obj(
            "A selector requirement.",
            {
              key: s("The label key."),
              operator: s("In, NotIn, Exists or DoesNotExist."),
              values: atomicList("Values.", { type: "string", default: "" }),
            },
            { required: ["key", "operator"] },
          ),
        ),
      },
      { "x-kubernetes-map-type": "atomic" },
    ),
    "io.k8s.api.core.v1.PodSpec": podSpec,
    [POD_TEMPLATE_SPEC]: obj("Describes the data a pod should have when created from a template.", {
      metadata: ref(OBJECT_META, "Standard object's metadata.", prefix),
      spec: ref("io.k8s.api.core.v1.PodSpec", "Specification of the desired behavior of the pod.", prefix),
    }),
  };
}

interface KindSchema {
  name: string;
  description: string;
  properties: Record<string, Schema>;
  required?: string[];
}

/** Per-kind top-level fields (apiVersion/kind/metadata are added by the caller). Keyed by `group/version/Kind`. */
export function builtinKindSchemas(prefix: string): Record<string, KindSchema> {
  const podTemplate = ref(POD_TEMPLATE_SPEC, "Template describes the pods that will be created.", prefix);
  const selector = ref(LABEL_SELECTOR, "Label query over pods.", prefix);
  const workloadStatus = (what: string): Schema =>
    obj(`Most recently observed status of the ${what}.`, {
      replicas: i("Total number of pods targeted."),
      readyReplicas: i("Number of pods with a Ready condition."),
      availableReplicas: i("Total number of available pods."),
      updatedReplicas: i("Number of updated pods."),
      observedGeneration: i("The generation observed by the controller.", "int64"),
      conditions: conditionsList(what),
    });
  const core = (
    kind: string,
    description: string,
    properties: Record<string, Schema>,
    required?: string[],
  ): KindSchema => ({ name: `io.k8s.api.core.v1.${kind}`, description, properties, required });
  return {
    "/v1/Namespace": core("Namespace", "Namespace provides a scope for Names.", {
      spec: obj("Spec defines the behavior of the Namespace.", {
        finalizers: atomicList(
          "Finalizers is an opaque list of values that must be empty to permanently remove object from storage.",
          { type: "string", default: "" },
        ),
      }),
      status: obj("Status describes the current status of a Namespace.", {
        phase: s("Phase is the current lifecycle phase of the namespace: Active or Terminating."),
        conditions: conditionsList("namespace"),
      }),
    }),
    "/v1/Node": core("Node", "Node is a worker node in Kubernetes.", {
      spec: obj("Spec defines the behavior of a node.", {
        providerID: s("ID of the node assigned by the cloud provider."),
        unschedulable: b("Unschedulable controls node schedulability of new pods (kubectl cordon sets it)."),
        taints: atomicList(
          "If specified, the node's taints.",
          obj(
            "A taint.",
            {
              key: s("The taint key."),
              value: s("The taint value."),
              effect: s("NoSchedule, PreferNoSchedule or NoExecute."),
              timeAdded: timeS("When the taint was added."),
            },
            { required: ["key", "effect"] },
          ),
        ),
      }),
      status: obj("Most recently observed status of the node.", {
        capacity: { type: "object", additionalProperties: quantity, description: "Total resources of the node." },
        allocatable: {
          type: "object",
          additionalProperties: quantity,
          description: "Resources of a node that are available for scheduling.",
        },
        conditions: conditionsList("node"),
        addresses: mapList(
          "List of addresses reachable to the node.",
          obj("Address of a node.", {
            type: s("Hostname, ExternalIP or InternalIP."),
            address: s("The node address."),
          }),
          ["type"],
        ),
        nodeInfo: {
          type: "object",
          description: "Set of ids/uuids to uniquely identify the node.",
          "x-kubernetes-preserve-unknown-fields": true,
        },
      }),
    }),
    "/v1/Pod": core("Pod", "Pod is a collection of containers that can run on a host.", {
      spec: ref("io.k8s.api.core.v1.PodSpec", "Specification of the desired behavior of the pod.", prefix),
      status: obj("Most recently observed status of the pod.", {
        phase: s("Pending, Running, Succeeded, Failed or Unknown."),
        conditions: conditionsList("pod"),
        podIP: s("IP address allocated to the pod."),
        startTime: timeS("When the pod was acknowledged by the kubelet."),
      }),
    }),
    "/v1/Secret": core("Secret", "Secret holds secret data of a certain type.", {
      data: {
        type: "object",
        additionalProperties: { type: "string", format: "byte" },
        description: "Secret data, base64 encoded.",
      },
      stringData: strMap("Write-only convenience field for non-binary secret data in string form."),
      type: s("Used to facilitate programmatic handling of secret data."),
      immutable: b("If set to true, ensures that data stored in the Secret cannot be updated."),
    }),
    "/v1/ConfigMap": core("ConfigMap", "ConfigMap holds configuration data for pods to consume.", {
      data: strMap("Data contains the configuration data."),
      binaryData: {
        type: "object",
        additionalProperties: { type: "string", format: "byte" },
        description: "Binary data.",
      },
      immutable: b("If set to true, ensures that data stored in the ConfigMap cannot be updated."),
    }),
    "/v1/Event": core(
      "Event",
      "Event is a report of an event somewhere in the cluster.",
      {
        involvedObject: obj("The object that this event is about.", {
          apiVersion: s("API version."),
          kind: s("Kind."),
          name: s("Name."),
          namespace: s("Namespace."),
          uid: s("UID."),
        }),
        reason: s("A short, machine understandable string that gives the reason for the transition."),
        message: s("A human-readable description of the status of this operation."),
        type: s("Type of this event (Normal, Warning)."),
        count: i("The number of times this event has occurred."),
        firstTimestamp: timeS("The time at which the event was first recorded."),
        lastTimestamp: timeS("The time at which the most recent occurrence of this event was recorded."),
        source: obj("The component reporting this event.", {
          component: s("Component from which the event is generated."),
          host: s("Node name."),
        }),
      },
      ["metadata", "involvedObject"],
    ),
    "apps/v1/Deployment": {
      name: "io.k8s.api.apps.v1.Deployment",
      description: "Deployment enables declarative updates for Pods and ReplicaSets.",
      properties: {
        spec: obj(
          "Specification of the desired behavior of the Deployment.",
          {
            replicas: i("Number of desired pods. Defaults to 1."),
            selector,
            template: podTemplate,
            paused: b("Indicates that the deployment is paused."),
            strategy: {
              type: "object",
              description: "The deployment strategy.",
              "x-kubernetes-preserve-unknown-fields": true,
            },
          },
          { required: ["selector", "template"] },
        ),
        status: workloadStatus("Deployment"),
      },
    },
    "apps/v1/StatefulSet": {
      name: "io.k8s.api.apps.v1.StatefulSet",
      description: "StatefulSet represents a set of pods with consistent identities.",
      properties: {
        spec: obj(
          "The desired identities of pods in this set.",
          {
            replicas: i("Desired number of replicas."),
            selector,
            template: podTemplate,
            serviceName: s("Name of the service that governs this StatefulSet."),
          },
          { required: ["selector", "template"] },
        ),
        status: workloadStatus("StatefulSet"),
      },
    },
    "batch/v1/CronJob": {
      name: "io.k8s.api.batch.v1.CronJob",
      description: "CronJob represents the configuration of a single cron job.",
      properties: {
        spec: obj(
          "Specification of the desired behavior of a cron job.",
          {
            schedule: s("The schedule in Cron format."),
            suspend: b("Suspend subsequent executions."),
            timeZone: s("The time zone name for the given schedule."),
            jobTemplate: obj("The job that will be created when executing a CronJob.", {
              metadata: ref(OBJECT_META, "Standard object's metadata.", prefix),
              spec: obj("The job spec.", { template: podTemplate }),
            }),
          },
          { required: ["schedule", "jobTemplate"] },
        ),
        status: obj("Current status of a cron job.", {
          lastScheduleTime: timeS("Last time the job was successfully scheduled."),
        }),
      },
    },
    "policy/v1/PodDisruptionBudget": {
      name: "io.k8s.api.policy.v1.PodDisruptionBudget",
      description:
        "PodDisruptionBudget limits the number of pods of a replicated application that are down simultaneously.",
      properties: {
        spec: obj("Desired behavior of the PodDisruptionBudget.", {
          minAvailable: {
            ...quantity,
            description: "An eviction is allowed if at least minAvailable pods will still be available.",
          },
          maxUnavailable: {
            ...quantity,
            description: "An eviction is allowed if at most maxUnavailable pods are unavailable.",
          },
          selector,
        }),
        status: obj("Most recently observed status of the PodDisruptionBudget.", {
          disruptionsAllowed: i("Number of pod disruptions that are currently allowed."),
          currentHealthy: i("Current number of healthy pods."),
          desiredHealthy: i("Minimum desired number of healthy pods."),
          expectedPods: i("Total number of pods counted by this budget."),
          observedGeneration: i("Most recent generation observed.", "int64"),
          conditions: conditionsList("PodDisruptionBudget"),
        }),
      },
    },
    "coordination.k8s.io/v1/Lease": {
      name: "io.k8s.api.coordination.v1.Lease",
      description: "Lease defines a lease concept.",
      properties: {
        spec: obj("Specification of the Lease.", {
          holderIdentity: s("The identity of the holder of a current lease."),
          leaseDurationSeconds: i("Duration that candidates for a lease need to wait to force acquire it."),
          acquireTime: {
            type: "string",
            format: "date-time",
            description: "When the current lease was acquired (MicroTime).",
          },
          renewTime: {
            type: "string",
            format: "date-time",
            description: "When the current holder last updated the lease (MicroTime).",
          },
          leaseTransitions: i("The number of transitions of a lease between holders."),
        }),
      },
    },
    "apiextensions.k8s.io/v1/CustomResourceDefinition": {
      name: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
      description: "CustomResourceDefinition represents a resource that should be exposed on the API server.",
      properties: {
        spec: {
          type: "object",
          description: "Spec describes how the user wants the resources to appear.",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { group: s("The API group of the defined custom resource."), scope: s("Cluster or Namespaced.") },
        },
        status: {
          type: "object",
          description: "Status indicates the actual state of the CustomResourceDefinition.",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { conditions: conditionsList("CustomResourceDefinition") },
        },
      },
      required: ["spec"],
    },
  };
}
