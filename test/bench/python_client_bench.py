"""The apiserver benchmark's second client: ConfigMap creates, updates and watch receipt times through the Kubernetes Python client."""
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client, config, watch


def main() -> None:
    kubeconfig, namespace, count, concurrency, watch_namespace, watched = sys.argv[1:7]
    count, concurrency, watched = int(count), int(concurrency), int(watched)
    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))

    def create(i: int) -> client.V1ConfigMap:
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"py-{i}"), data={"i": str(i)})
        return api.create_namespaced_config_map(namespace, body)

    with ThreadPoolExecutor(concurrency) as pool:
        start = time.perf_counter()
        created = list(pool.map(create, range(count)))
        create_s = time.perf_counter() - start

        def update(cm: client.V1ConfigMap) -> None:
            cm.data = {**cm.data, "updated": "yes"}
            api.replace_namespaced_config_map(cm.metadata.name, namespace, cm)

        start = time.perf_counter()
        list(pool.map(update, created))
        update_s = time.perf_counter() - start

    # Watch: the receipt time (epoch ms) of each ADDED event, by resourceVersion, for writes made while it runs.
    received = []
    rv = api.list_namespaced_config_map(watch_namespace).metadata.resource_version
    ready = threading.Event()

    def follow() -> None:
        w = watch.Watch()
        ready.set()
        for ev in w.stream(api.list_namespaced_config_map, watch_namespace, resource_version=rv, timeout_seconds=30):
            received.append([ev["object"].metadata.resource_version, time.time() * 1000])
            if len(received) >= watched:
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    ready.wait()
    time.sleep(0.2)
    for i in range(watched):
        api.create_namespaced_config_map(watch_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"pw-{i}")))
    t.join()
    print(json.dumps({"createSeconds": create_s, "updateSeconds": update_s, "received": received}))


if __name__ == "__main__":
    main()
