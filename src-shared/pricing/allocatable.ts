// Karpenter's node allocatable arithmetic (AL2023 defaults), shared by the EC2 adapter and its tests.

/** Max pods with the VPC CNI without prefix delegation: ENIs × (IPv4 per ENI − 1) + 2. */
export function eniMaxPods(enis: number, ipsPerEni: number): number {
  return enis * (ipsPerEni - 1) + 2;
}

/** kube-reserved CPU: 6 % of the first core, 1 % of the second, 0.5 % of cores 3–4, 0.25 % of the rest. */
export function kubeReservedCpuMillicores(vcpu: number): number {
  const tiers: Array<[number, number]> = [
    [1, 60],
    [1, 10],
    [2, 5],
    [Infinity, 2.5],
  ];
  let left = vcpu;
  let reserved = 0;
  for (const [cores, perCore] of tiers) {
    const n = Math.min(left, cores);
    reserved += n * perCore;
    left -= n;
  }
  return reserved;
}
