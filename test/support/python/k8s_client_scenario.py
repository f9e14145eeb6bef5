# Drives the official Kubernetes Python client (Debian's python3-kubernetes) against a server; prints one JSON result.
import json
import sys

from kubernetes import client, config, watch


def main(kubeconfig, namespace):
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()
    policy = client.PolicyV1Api()
    out = {}
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    cm = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg", labels={"app": "py"}), data={"a": "1"})
    )
    cm.data["a"] = "2"
    replaced = core.replace_namespaced_config_map("cfg", namespace, cm)
    out["configmap"] = {"data": replaced.data, "rvChanged": replaced.metadata.resource_version != cm.metadata.resource_version}
    listed = core.list_namespaced_config_map(namespace, label_selector="app=py")
    out["listed"] = [i.metadata.name for i in listed.items]
    # The client sends watch=True (capital T) and allowWatchBookmarks=True.
    events = []
    for ev in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, label_selector="app=py", timeout_seconds=1, allow_watch_bookmarks=True
    ):
        events.append([ev["type"], ev["object"].metadata.name])
    out["watch"] = events
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="sec"), string_data={"pw": "s3cret"})
    )
    secret = core.read_namespaced_secret("sec", namespace)
    out["secret"] = {"data": secret.data, "stringData": secret.string_data, "type": secret.type}
    pdb = policy.create_namespaced_pod_disruption_budget(
        namespace,
        client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="pdb"),
            spec=client.V1PodDisruptionBudgetSpec(min_available=1, selector=client.V1LabelSelector(match_labels={"app": "py"})),
        ),
    )
    out["pdbStatus"] = pdb.status.to_dict()
    dep = apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                replicas=2,
                selector=client.V1LabelSelector(match_labels={"app": "web"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "web"}),
                    spec=client.V1PodSpec(
                        containers=[
                            client.V1Container(
                                name="web",
                                image="nginx:1.27",
                                resources=client.V1ResourceRequirements(requests={"cpu": "1000m", "memory": "1024Mi"}),
                            )
                        ]
                    ),
                ),
            ),
        ),
    )
    out["deployment"] = {
        "replicas": dep.spec.replicas,
        "requests": dep.spec.template.spec.containers[0].resources.requests,
        "strategy": dep.spec.strategy.type,
    }
    scaled = apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    out["scale"] = scaled.spec.replicas
    try:
        core.read_namespaced_config_map("missing", namespace)
    except client.exceptions.ApiException as e:
        out["notFound"] = [e.status, json.loads(e.body)["reason"]]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
