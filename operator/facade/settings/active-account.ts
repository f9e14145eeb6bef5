// The caller's active account as GET /api/auth/me and GET /settings/accounts both report it: the stored choice only
// while its cluster exists, else null with the reason, so the two answers never disagree about a deleted cluster.
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { AuthContext } from "../http.js";

export interface ActiveAccountView {
  active_account: string | null;
  /** Why active_account is null although one was chosen (the chosen cluster is gone); null otherwise. */
  active_account_reason: string | null;
}

/** The stored active account names a cluster that no longer exists: writes without cluster_id refuse it. */
export function staleActiveAccountDetail(accountId: string): string {
  return `your active account ${accountId} no longer exists: choose one with PATCH /settings/context {"account_id": ...} or pass cluster_id`;
}

/** Where a cluster is looked up (the facade's cache). */
export interface ActiveAccountClusters {
  cluster(namespace: string, name: string): ManagedCluster | undefined;
}

/** The caller's active account, checked against the organisation's clusters. */
export function activeAccountView(
  auth: Pick<AuthContext, "activeClusterId" | "namespace">,
  clusters: ActiveAccountClusters,
): ActiveAccountView {
  const stored = auth.activeClusterId;
  if (stored === undefined || stored === "") return { active_account: null, active_account_reason: null };
  if (auth.namespace && clusters.cluster(auth.namespace, stored))
    return { active_account: stored, active_account_reason: null };
  return { active_account: null, active_account_reason: staleActiveAccountDetail(stored) };
}
