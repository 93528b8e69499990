#!/usr/bin/env bash
# Fleet enrolment: the on-host half of the bootstrap user data of instances this stack does not
# create (docs/fleet.md). Runs as root, from cloud-init at first boot, then from a systemd timer.
#
# configs/fleet-bootstrap.ts renders the user data as this file unchanged, followed by a tail that
# is only data and calls of the functions below with quoted arguments:
#
#   fleet_setting NAME VALUE        one setting (bucket, pointer, region, parameter, agents_dir,
#                                   password_file, host_variable, state_dir, unit_dir,
#                                   s3_endpoint, ssm_endpoint)
#   fleet_unit NAME <<'EOF'         a systemd unit file (the sync service and its timer)
#   fleet_bootstrap                 Docker and the AWS CLI if absent, the sync script and units
#                                   installed, the timer enabled, then one sync right away
#
# A sync (fleet_sync; the timer's service runs the installed copy of these functions):
#   1. fetch the pointer object with the instance role: the current bundle's key and sha256;
#   2. if it names a bundle other than the one running: fetch it and hash it. A digest that is not
#      the pointer's is REFUSED: nothing is unpacked, the running agents keep running, and the
#      sync fails (the unit shows failed) until the bucket holds a bundle that matches;
#   3. read the push password from the SSM SecureString (decrypted with the instance role) into a
#      0400 file; it is never an argument, never logged, never in user data;
#   4. the host's name for the agents' labels (its EC2 instance id, from IMDSv2; the hostname where
#      there is no instance metadata) goes to the compose project's .env as host_variable;
#   5. when the bundle or the password changed: the new files are put in place of the old (kept
#      as .old), and `docker compose up --force-recreate --wait` starts the agents on them; if
#      that fails, the old files come back and are started again, and the sync fails.
set -euo pipefail

declare -A FLEET=()
FLEET_UNITS=()
# The functions the installed sync script carries (see fleet_install_sync).
FLEET_SYNC_FUNCTIONS=(fleet_log fleet_fail fleet_aws fleet_read_pointer fleet_host_name fleet_compose_up fleet_sync)
FLEET_SYNC_SCRIPT_NAME="fleet-sync.sh"
FLEET_DOCKER_ATTEMPTS=60
FLEET_COMPOSE_WAIT_SECONDS=600

fleet_log() {
  printf 'observability-fleet: %s\n' "$*"
}

fleet_fail() {
  printf 'observability-fleet: %s\n' "$*" >&2
  return 1
}

fleet_setting() {
  FLEET["$1"]="$2"
}

# fleet_unit NAME: the unit file's text on stdin, written by fleet_bootstrap.
fleet_unit() {
  local name="$1"
  [[ "$name" =~ ^[a-z0-9.-]+\.(service|timer)$ ]] || fleet_fail "unit name $name is not a plain unit name"
  FLEET_UNITS+=("$name")
  FLEET["unit:$name"]="$(cat)"
}

# fleet_aws SERVICE ARGS...: the AWS CLI in the stack's region, with the instance role's
# credentials (or any the environment provides), at the service's endpoint override if one is set.
fleet_aws() {
  local service="$1"
  shift
  local args=(--region "${FLEET[region]}")
  local endpoint="${FLEET[${service}_endpoint]:-}"
  if [ -n "$endpoint" ]; then args+=(--endpoint-url "$endpoint"); fi
  aws "${args[@]}" "$service" "$@"
}

# fleet_read_pointer FILE: sets POINTER_BUNDLE and POINTER_SHA256 from its key=value lines.
fleet_read_pointer() {
  local key value
  POINTER_BUNDLE=""
  POINTER_SHA256=""
  while IFS='=' read -r key value; do
    case "$key" in
    bundle) POINTER_BUNDLE="$value" ;;
    sha256) POINTER_SHA256="$value" ;;
    esac
  done <"$1"
  [[ "$POINTER_SHA256" =~ ^[0-9a-f]{64}$ ]] || fleet_fail "the pointer names no sha256 digest"
  [[ "$POINTER_BUNDLE" =~ ^[A-Za-z0-9._/-]+$ ]] || fleet_fail "the pointer names no bundle key"
}

# The host's name in the agents' labels: its instance id (IMDSv2), as EC2 discovery names it.
fleet_host_name() {
  local token id
  if token="$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    http://169.254.169.254/latest/api/token 2>/dev/null)" && [ -n "$token" ] &&
    id="$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" \
      http://169.254.169.254/latest/meta-data/instance-id 2>/dev/null)" &&
    [[ "$id" =~ ^i-[0-9a-f]+$ ]]; then
    printf '%s' "$id"
    return 0
  fi
  id="$(hostname)"
  if [[ "$id" =~ ^[A-Za-z0-9._-]+$ ]]; then printf '%s' "$id"; else printf 'unknown'; fi
}

fleet_compose_up() {
  local dir="$1"
  docker compose --project-directory "$dir" -f "$dir/compose.yaml" up --detach --remove-orphans \
    --force-recreate --wait --wait-timeout "$FLEET_COMPOSE_WAIT_SECONDS"
}

# One sync: see the top of this file.
fleet_sync() {
  local dir="${FLEET[agents_dir]}" state="${FLEET[state_dir]}"
  local work current bundle_changed=false password_changed=false actual
  umask 077
  mkdir -p "$state"
  exec 9>"$state/lock"
  if ! flock -n 9; then
    fleet_log "another sync is running"
    return 0
  fi
  work="$(mktemp -d "$state/sync.XXXXXX")"
  # Removed when this function returns, whatever the outcome.
  trap 'rm -rf -- "$work"; trap - RETURN' RETURN

  fleet_aws s3 cp --only-show-errors "s3://${FLEET[bucket]}/${FLEET[pointer]}" "$work/pointer" ||
    fleet_fail "cannot read the pointer s3://${FLEET[bucket]}/${FLEET[pointer]}" || return
  fleet_read_pointer "$work/pointer" || return
  current="$(cat "$state/current" 2>/dev/null || true)"
  if [ "$POINTER_SHA256" != "$current" ]; then
    fleet_aws s3 cp --only-show-errors "s3://${FLEET[bucket]}/$POINTER_BUNDLE" "$work/bundle.tar" ||
      fleet_fail "cannot read the bundle s3://${FLEET[bucket]}/$POINTER_BUNDLE" || return
    actual="$(sha256sum "$work/bundle.tar")"
    actual="${actual%% *}"
    if [ "$actual" != "$POINTER_SHA256" ]; then
      fleet_fail "REFUSED bundle $POINTER_BUNDLE: its sha256 is $actual, the pointer says $POINTER_SHA256; the running agents are left as they are" || return
    fi
    mkdir "$work/files"
    (umask 022 && tar -x --no-same-owner --no-same-permissions -f "$work/bundle.tar" -C "$work/files") ||
      fleet_fail "cannot unpack bundle $POINTER_SHA256" || return
    bundle_changed=true
  fi

  # The password: held in a variable and written by the printf builtin (never an argument) to a
  # 0600 file (umask 077), installed 0400; the text output's final newline is not part of it.
  local password
  password="$(fleet_aws ssm get-parameter --name "${FLEET[parameter]}" --with-decryption \
    --query Parameter.Value --output text)" ||
    fleet_fail "cannot read the push password from SSM parameter ${FLEET[parameter]}" || return
  printf '%s' "$password" >"$work/password"
  password=""
  if ! cmp -s "$work/password" "$dir/${FLEET[password_file]}"; then password_changed=true; fi

  if [ "$bundle_changed" = false ] && [ "$password_changed" = false ]; then
    fleet_log "bundle $current is current"
    return 0
  fi
  if [ "$bundle_changed" = false ]; then cp -a "$dir/." "$work/files"; fi
  install -d -m 0700 "$(dirname "$work/files/${FLEET[password_file]}")"
  install -m 0400 "$work/password" "$work/files/${FLEET[password_file]}"
  printf '%s=%s\n' "${FLEET[host_variable]}" "$(fleet_host_name)" >"$work/files/.env"

  rm -rf -- "$dir.new" "$dir.old"
  mv "$work/files" "$dir.new"
  if [ -d "$dir" ]; then mv "$dir" "$dir.old"; fi
  mv "$dir.new" "$dir"
  if ! fleet_compose_up "$dir"; then
    if [ -d "$dir.old" ]; then
      rm -rf -- "$dir.failed"
      mv "$dir" "$dir.failed"
      mv "$dir.old" "$dir"
      fleet_compose_up "$dir" || true
    fi
    fleet_fail "the agents of bundle $POINTER_SHA256 did not start; the previous files are back" || return
  fi
  printf '%s\n' "$POINTER_SHA256" >"$state/current.new"
  mv "$state/current.new" "$state/current"
  fleet_log "running bundle $POINTER_SHA256"
}

fleet_ensure_docker() {
  local attempt
  if ! command -v docker >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io docker-compose-v2 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io docker-compose-plugin
    elif command -v dnf >/dev/null 2>&1; then
      dnf install -y docker docker-compose-plugin
    else
      fleet_fail "Docker with the compose plugin is missing and no apt-get or dnf can install it"
    fi
    if [ -d /run/systemd/system ]; then systemctl enable --now docker; fi
  fi
  for attempt in $(seq 1 "$FLEET_DOCKER_ATTEMPTS"); do
    if docker info >/dev/null 2>&1; then return 0; fi
    fleet_log "waiting for the Docker engine (attempt $attempt)"
    sleep 5
  done
  fleet_fail "the Docker engine does not answer"
}

fleet_ensure_aws_cli() {
  if command -v aws >/dev/null 2>&1; then return 0; fi
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli || snap install aws-cli --classic
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y awscli-2 || dnf install -y awscli
  else
    fleet_fail "the AWS CLI is missing and no apt-get or dnf can install it"
  fi
}

# The script the timer's service runs: the sync functions and the settings, as bash prints them.
fleet_install_sync() {
  local state="${FLEET[state_dir]}"
  install -d -m 0700 "$state"
  {
    printf '#!/bin/bash\n# Installed by the fleet bootstrap (configs/host-scripts/fleet-sync.sh).\nset -euo pipefail\n'
    printf 'FLEET_COMPOSE_WAIT_SECONDS=%q\n' "$FLEET_COMPOSE_WAIT_SECONDS"
    declare -p FLEET
    declare -f "${FLEET_SYNC_FUNCTIONS[@]}"
    printf 'fleet_sync\n'
  } >"$state/$FLEET_SYNC_SCRIPT_NAME.new"
  chmod 0700 "$state/$FLEET_SYNC_SCRIPT_NAME.new"
  mv "$state/$FLEET_SYNC_SCRIPT_NAME.new" "$state/$FLEET_SYNC_SCRIPT_NAME"
}

fleet_bootstrap() {
  local name timer=""
  for name in bucket pointer region parameter agents_dir password_file host_variable state_dir unit_dir; do
    [ -n "${FLEET[$name]:-}" ] || fleet_fail "setting $name is missing"
  done
  fleet_ensure_docker
  fleet_ensure_aws_cli
  fleet_install_sync
  install -d -m 0755 "${FLEET[unit_dir]}"
  for name in "${FLEET_UNITS[@]}"; do
    printf '%s\n' "${FLEET["unit:$name"]}" >"${FLEET[unit_dir]}/$name"
    chmod 0644 "${FLEET[unit_dir]}/$name"
    if [[ "$name" == *.timer ]]; then timer="$name"; fi
  done
  if [ -n "$timer" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable "$timer"
    systemctl start "$timer"
  else
    fleet_log "systemd is not running: the units are installed, the timer is not started"
  fi
  "${FLEET[state_dir]}/$FLEET_SYNC_SCRIPT_NAME"
}
