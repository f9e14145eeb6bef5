// Node executors: cordon, uncordon, delete-node (each a no-op when the node already is as asked).
import type { V1Node } from "@kubernetes/client-node";
import type { KubeClient, KubeObject } from "../../src-shared/kube/client.js";
import { ActionError, ok, requireKind, type Executor } from "./types.js";
import { AGENT_FIELD_MANAGER } from "./fields.js";

export const nodeRef = (name: string): { apiVersion: string; kind: string; name: string } => ({
  apiVersion: "v1",
  kind: "Node",
  name,
});

async function getNode(client: KubeClient, name: string): Promise<V1Node | undefined> {
  return client.getIfExists<KubeObject & V1Node>(nodeRef(name));
}

/** Marks the node unschedulable; true if it wrote. */
export async function cordonNode(client: KubeClient, name: string): Promise<boolean> {
  const node = await getNode(client, name);
  if (!node) throw new ActionError(`node ${name} not found`);
  if (node.spec?.unschedulable === true) return false;
  await client.patch(
    nodeRef(name),
    { spec: { unschedulable: true } },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
  return true;
}

export const cordon: Executor = async ({ client, action }) => {
  requireKind(action, ["Node"]);
  const wrote = await cordonNode(client, action.target.name);
  return ok(wrote ? `cordoned node ${action.target.name}` : `node ${action.target.name} was already cordoned`);
};

export const uncordon: Executor = async ({ client, action }) => {
  requireKind(action, ["Node"]);
  const node = await getNode(client, action.target.name);
  if (!node) throw new ActionError(`node ${action.target.name} not found`);
  if (node.spec?.unschedulable !== true) return ok(`node ${action.target.name} was already schedulable`);
  await client.patch(
    nodeRef(action.target.name),
    { spec: { unschedulable: null } },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
  return ok(`uncordoned node ${action.target.name}`);
};

export const deleteNode: Executor = async ({ client, action }) => {
  requireKind(action, ["Node"]);
  const deleted = await client.delete(nodeRef(action.target.name));
  return ok(deleted ? `deleted node ${action.target.name}` : `node ${action.target.name} was already gone`);
};
