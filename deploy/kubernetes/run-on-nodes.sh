#!/usr/bin/env bash
# Starts job.yaml once per node (all nodes, or those named), waits for the
# Jobs, and copies every node's result directory here, into ./cowbench-results/.
#   deploy/kubernetes/run-on-nodes.sh [NODE ...]
set -euo pipefail
here=$(dirname "$0")
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || mapfile -t nodes < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
for n in "${nodes[@]}"; do
    sed "s/NODE/$n/g" "$here/job.yaml" | kubectl apply -f -
done
for n in "${nodes[@]}"; do
    kubectl wait --for=condition=complete --timeout=3600s "job/cowbench-$n"
done
mkdir -p cowbench-results
for n in "${nodes[@]}"; do
    # A one-off pod on the node reads the hostPath the Job wrote.
    kubectl run "cowbench-fetch-$n" --restart=Never --image=busybox:stable \
        --overrides="{\"spec\":{\"nodeName\":\"$n\",\"volumes\":[{\"name\":\"r\",\"hostPath\":{\"path\":\"/var/lib/cowbench-results\"}}],\"containers\":[{\"name\":\"f\",\"image\":\"busybox:stable\",\"command\":[\"sleep\",\"600\"],\"volumeMounts\":[{\"name\":\"r\",\"mountPath\":\"/r\"}]}]}}"
    kubectl wait --for=condition=ready --timeout=120s "pod/cowbench-fetch-$n"
    kubectl cp "cowbench-fetch-$n:/r" "cowbench-results/$n"
    kubectl delete pod "cowbench-fetch-$n" --wait=false
done
echo "cowbench report cowbench-results/*/* --out hosts.md   # the host comparison"
