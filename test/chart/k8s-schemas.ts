// Validates rendered manifests against the Kubernetes JSON schemas shipped by kubernetes-models (and the
// Prometheus Operator's for ServiceMonitor); throws on a kind it has no schema for, so nothing passes unchecked.
import type { RenderedObject } from "./helm.js";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

function modulePath(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

/** Loads the model class of an apiVersion/kind. */
export async function modelOf(apiVersion: string, kind: string): Promise<ModelClass> {
  const path = modulePath(apiVersion, kind);
  const mod = (await import(path)) as Record<string, ModelClass>;
  const model = mod[kind];
  if (!model) throw new Error(`no model ${kind} in ${path}`);
  return model;
}

/** The validation errors of every object ("Kind/name: message"); empty when all are valid. */
export async function schemaErrors(objects: RenderedObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const obj of objects) {
    const Model = await modelOf(obj.apiVersion, obj.kind);
    try {
      new Model(obj).validate();
    } catch (err) {
      errors.push(`${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
    }
  }
  return errors;
}
