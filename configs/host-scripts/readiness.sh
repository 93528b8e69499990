#!/bin/sh
# The readiness step of every host: the `create` of its first remote command, run by the SSH
# login user's shell (so plain POSIX sh, root through `sudo -n`). configs/deploy-scripts.ts
# sends this file followed by one call:
#
#   host_ready CLOUD_INIT_TIMEOUT DOCKER_ATTEMPTS [MOUNT_POINT...]
#
# CLOUD_INIT_TIMEOUT 0 skips cloud-init (hosts outside AWS have none). SSH itself is retried by
# the provider while the host boots; everything else on the host waits for this step.
set -eu

not_ready() {
  echo "host not ready: $*" >&2
  exit 1
}

host_ready() {
  cloud_init_timeout="$1"
  docker_attempts="$2"
  shift 2

  sudo -n true || not_ready "this user needs passwordless sudo to deploy"

  if [ "$cloud_init_timeout" -gt 0 ]; then
    status=0
    timeout "$cloud_init_timeout" cloud-init status --wait >/dev/null || status=$?
    case "$status" in
      0) ;;
      2) echo "cloud-init finished with recoverable errors; continuing" >&2 ;;
      124) not_ready "cloud-init did not finish within ${cloud_init_timeout}s: see /var/log/cloud-init-output.log" ;;
      *) not_ready "cloud-init failed (exit $status): see /var/log/cloud-init-output.log" ;;
    esac
  fi

  # Config changes reach Prometheus, Alertmanager and Alloy as `curl -X POST .../-/reload`.
  command -v curl >/dev/null 2>&1 || not_ready "curl is missing: the deploy reloads services with it (apt-get install -y curl)"

  for mount_point in "$@"; do
    mountpoint -q "$mount_point" || not_ready "$mount_point is not mounted: see /var/log/cloud-init-output.log"
  done

  attempt=0
  until sudo -n docker info >/dev/null 2>&1 && sudo -n docker compose version >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge "$docker_attempts" ]; then
      not_ready "the Docker engine or its compose plugin is not answering after $docker_attempts tries, 5 s apart" \
        "(sudo docker info: $(sudo -n docker info 2>&1 >/dev/null | tail -n 1))"
    fi
    sleep 5
  done
  sudo -n docker compose version
}
