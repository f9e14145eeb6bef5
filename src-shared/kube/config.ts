// Loads a KubeConfig the way our processes need it: an explicit file, in-cluster, or the usual defaults.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

export interface LoadKubeConfigOptions {
  /** Path to a kubeconfig file; wins over everything else. */
  kubeconfigPath?: string;
  /** Use the service-account mount (in a pod). Default: auto-detect. */
  inCluster?: boolean;
}

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** Explicit file > in-cluster service account > $KUBECONFIG / ~/.kube/config. */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfigPath !== undefined) {
    kc.loadFromFile(options.kubeconfigPath);
    return kc;
  }
  const inCluster =
    options.inCluster ?? (process.env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN));
  if (inCluster) kc.loadFromCluster();
  else {
    // Without any kubeconfig the client falls back to http://localhost:8080, whose requests then fail obscurely.
    const home = join(homedir(), ".kube", "config");
    if (!process.env.KUBECONFIG && !existsSync(home))
      throw new Error(`no kubeconfig: not in a pod, KUBECONFIG is unset and ${home} does not exist`);
    kc.loadFromDefault();
  }
  return kc;
}
