// Stands in for @kubernetes/client-node in the bundled crash-test child, which never uses its KubeConfig: loading
// the real client takes seconds per process, and the crash test starts one process per seed.
export class KubeConfig {
  loadFromString(_yaml: string): void {}
}
