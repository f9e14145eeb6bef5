// The Kubernetes client wrapper: KubeConfig loading, the REST client and typed custom-resource helpers.
export * from "./client.js";
export * from "./config.js";
