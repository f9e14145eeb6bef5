// Request schemas the resource routes share (ids, success answers).
import { z } from "zod";
import { objectName } from "../../../src-shared/crds/index.js";

/** A cluster id as the API takes it: the ManagedCluster's name. */
export const ClusterId = objectName("Cluster id (the ManagedCluster's name).");

export const IdParams = z.object({ id: objectName("Object id (its name).") }).strict();

export const Success = z.object({ success: z.boolean() });
