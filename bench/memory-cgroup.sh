#!/bin/sh
# `bench/memory-cgroup.sh <MiB> <command…>`: runs the command in a memory cgroup limited to <MiB>,
# as a container with that memory limit would (Node reads the limit and V8 sizes its heap from
# it). Needs root and a writable cgroup hierarchy (v2, or v1's memory controller). For the bench:
# BENCH_CONNECTOR_WRAPPER="bench/memory-cgroup.sh 512" npm run bench
set -eu
mib=$1
shift
bytes=$((mib * 1024 * 1024))
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  group=/sys/fs/cgroup/cloud-connector-bench-$mib
  mkdir -p "$group"
  echo "$bytes" >"$group/memory.max"
else
  # v1: a child of the memory cgroup this shell is in.
  parent=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
  group=$parent/cloud-connector-bench-$mib
  mkdir -p "$group"
  echo "$bytes" >"$group/memory.limit_in_bytes"
fi
echo $$ >"$group/cgroup.procs"
exec "$@"
