#!/usr/bin/env bash
# The on-host half of every deploy step that arrives on stdin (`sudo -n bash -s`, as root).
#
# configs/deploy-scripts.ts sends this file unchanged, followed by a tail that is only data and
# calls of the functions below with quoted arguments (file contents in quoted here-documents).
# A file step runs, in this order:
#
#   unit_begin DIR UNIT PROJECT     staging dir .deploy/staging/UNIT, emptied
#   stage_file PATH <<'EOF'         (or stage_file_base64) each file, into staging only:
#                                   the staged files are all the files the unit installs
#   check_with_image ... / check_compose FILE
#                                   the service's own tool on the staged copy; a failure exits
#                                   here, before anything live is touched
#   swap_in                         previous files backed up to .deploy/backup/UNIT, new ones
#                                   renamed into place, files the unit no longer renders removed
#   make_dirs DIR...                empty bind-mount sources
#   apply_unit KIND ARGS...         reload / restart (then its readiness endpoint, bounded) /
#                                   compose up; on failure the backup is put back, applied again,
#                                   and the step fails with the tool's message (or, for a service
#                                   that never became ready, the reason and its last log lines)
#   unit_done                       staging removed (the backup stays until the next swap)
#
# The secrets step: secrets_begin MANIFEST, `put_secret PATH OWNER MODE <<'EOF'` per file (the
# value in the here-document), secrets_done. Nothing here prints a secret or passes it to a program.
# docs/deploy.md describes the whole deploy.
set -euo pipefail

# Where things are for the current step (set by unit_begin / secrets_begin).
DEPLOY_DIR=""
DEPLOY_UNIT=""
DEPLOY_PROJECT=""
STAGE_DIR=""
BACKUP_DIR=""
MANIFEST=""
# Files staged by this step (stage_file), and secret files written by it (put_secret).
STAGED_PATHS=()
SECRET_PATHS=()

# Prints the message on stderr, prefixed with the step, and ends the step with a failure.
fail() {
  printf '%s: %s\n' "${DEPLOY_UNIT:-deploy}" "$*" >&2
  exit 1
}

# write_list FILE LINE...: FILE holds the lines, replaced in one rename.
write_list() {
  local file="$1"
  shift
  if [ "$#" -gt 0 ]; then
    printf '%s\n' "$@" >"$file.new" || return
  else
    : >"$file.new" || return
  fi
  mv -fT -- "$file.new" "$file"
}

# Plain relative paths only: the renderer already refuses anything else; this is the second lock.
require_relative_path() {
  case "$1" in
    '' | /* | -* | */ | *//* | . | ./* | */. | */./* | .. | ../* | */.. | */../* | *[!A-Za-z0-9_./-]*)
      fail "refusing the path '$1': not a plain relative path"
      ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Staging
# ---------------------------------------------------------------------------------------------

# unit_begin DIR UNIT PROJECT: starts a file step with an empty staging directory.
unit_begin() {
  DEPLOY_UNIT="$2"
  case "$1" in
    /?*) ;;
    *) fail "the deploy directory must be an absolute path" ;;
  esac
  case "$2" in
    '' | . | .. | *[!A-Za-z0-9_.-]*) fail "refusing the step name '$2'" ;;
  esac
  DEPLOY_DIR="$1"
  DEPLOY_PROJECT="$3"
  STAGE_DIR="$DEPLOY_DIR/.deploy/staging/$DEPLOY_UNIT"
  BACKUP_DIR="$DEPLOY_DIR/.deploy/backup/$DEPLOY_UNIT"
  MANIFEST="$DEPLOY_DIR/.deploy/$DEPLOY_UNIT.manifest"
  install -d -m 0755 -o 0 -g 0 -- "$DEPLOY_DIR" "$DEPLOY_DIR/.deploy" "$DEPLOY_DIR/.deploy/staging"
  rm -rf -- "$STAGE_DIR"
  # World-readable: the check container (e.g. `nobody` in the Prometheus image) reads the copy.
  install -d -m 0755 -o 0 -g 0 -- "$STAGE_DIR"
}

# stage_file PATH: the file's content, byte for byte, from stdin (a quoted here-document).
stage_file() {
  require_relative_path "$1"
  STAGED_PATHS+=("$1")
  mkdir -p -- "$(dirname -- "$STAGE_DIR/$1")"
  cat >"$STAGE_DIR/$1"
}

# stage_file_base64 PATH: the same for content a here-document cannot carry (no final newline, CR).
stage_file_base64() {
  require_relative_path "$1"
  STAGED_PATHS+=("$1")
  mkdir -p -- "$(dirname -- "$STAGE_DIR/$1")"
  base64 -d >"$STAGE_DIR/$1"
}

# ---------------------------------------------------------------------------------------------
# Checks (before the swap: a failure leaves every live file as it was)
# ---------------------------------------------------------------------------------------------

# check_with_image IMAGE ENTRYPOINT SOURCE:TARGET... -- ARG...
# Runs the service's own tool from its pinned image, without network, on the staged files:
# each SOURCE (relative to the deploy dir) is mounted read-only from the staging copy at TARGET.
check_with_image() {
  local image="$1" entrypoint="$2"
  shift 2
  local volumes=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    require_relative_path "${1%%:*}"
    volumes+=(-v "$STAGE_DIR/${1%%:*}:${1#*:}:ro")
    shift
  done
  [ "$#" -gt 0 ] || fail "check_with_image: missing -- before the tool's arguments"
  shift
  if ! docker run --rm --network none --entrypoint "$entrypoint" "${volumes[@]}" "$image" "$@"; then
    fail "$entrypoint rejected the new files (its message is above); nothing was changed on this host." \
      "The rejected copy is in $STAGE_DIR."
  fi
}

# check_compose FILE: the staged compose file, resolved against the live directory (secret
# files, bind-mount sources), so a missing file fails here and not halfway through `up`.
check_compose() {
  require_relative_path "$1"
  if ! docker compose --project-directory "$DEPLOY_DIR" -f "$STAGE_DIR/$1" config --quiet; then
    fail "docker compose rejected the new $1 (its message is above); nothing was changed on this host." \
      "The rejected copy is in $STAGE_DIR."
  fi
}

# ---------------------------------------------------------------------------------------------
# Swap, with a backup to roll back to
# ---------------------------------------------------------------------------------------------

# Paths the unit installed last time, one per line, from its manifest (none on a first deploy).
previous_paths() {
  if [ -f "$MANIFEST" ]; then
    grep -v '^$' -- "$MANIFEST" || true
  fi
}

# swap_in: the staged files are all the files the unit installs now.
# 1. Backup: every live file the swap replaces or removes, the list of paths it touches, and the
#    manifest, under .deploy/backup/UNIT (replacing the previous backup).
# 2. Each new file is copied next to its target and renamed over it: a service that watches a
#    mounted directory sees the old file or the new one, never half a file.
# 3. Files the unit installed last time and no longer renders are removed; the manifest is
#    rewritten.
swap_in() {
  local -A wanted=()
  local path
  for path in "${STAGED_PATHS[@]}"; do
    wanted["$path"]=1
  done
  local stale=()
  while IFS= read -r path; do
    require_relative_path "$path"
    [ -n "${wanted[$path]:-}" ] || stale+=("$path")
  done < <(previous_paths)

  rm -rf -- "$BACKUP_DIR"
  install -d -m 0700 -o 0 -g 0 -- "$BACKUP_DIR" "$BACKUP_DIR/files"
  : >"$BACKUP_DIR/touched"
  : >"$BACKUP_DIR/existed"
  for path in "${STAGED_PATHS[@]}" "${stale[@]}"; do
    printf '%s\n' "$path" >>"$BACKUP_DIR/touched"
    if [ -e "$DEPLOY_DIR/$path" ] || [ -L "$DEPLOY_DIR/$path" ]; then
      mkdir -p -- "$(dirname -- "$BACKUP_DIR/files/$path")"
      cp -a -- "$DEPLOY_DIR/$path" "$BACKUP_DIR/files/$path"
      printf '%s\n' "$path" >>"$BACKUP_DIR/existed"
    fi
  done
  if [ -f "$MANIFEST" ]; then cp -a -- "$MANIFEST" "$BACKUP_DIR/manifest"; fi

  # From here on live files change: a failure (disk full, ...) puts the backup back first.
  local broken=""
  for path in "${STAGED_PATHS[@]}"; do
    if ! { install -D -T -m 0644 -o 0 -g 0 -- "$STAGE_DIR/$path" "$DEPLOY_DIR/$path.deploy-new" &&
      mv -fT -- "$DEPLOY_DIR/$path.deploy-new" "$DEPLOY_DIR/$path"; }; then
      broken="$path"
      rm -f -- "$DEPLOY_DIR/$path.deploy-new" || true
      break
    fi
  done
  if [ -z "$broken" ]; then
    for path in "${stale[@]}"; do
      if ! rm -f -- "$DEPLOY_DIR/$path"; then
        broken="$path"
        break
      fi
    done
  fi
  if [ -z "$broken" ] && ! write_list "$MANIFEST" "${STAGED_PATHS[@]}"; then broken="$MANIFEST"; fi
  if [ -n "$broken" ]; then
    roll_back || fail "could not swap in $broken, nor restore every previous file from $BACKUP_DIR: fix by hand"
    fail "could not swap in $broken; the previous files were restored and nothing was applied"
  fi
}

# roll_back: the live files of the unit become what the last swap_in found, byte for byte.
# Written without `set -e` reliance: it runs from a failure path and must do all it can.
roll_back() {
  local path failed=0
  local -A existed=()
  while IFS= read -r path; do
    if [ -n "$path" ]; then existed["$path"]=1; fi
  done <"$BACKUP_DIR/existed"
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    if [ -n "${existed[$path]:-}" ]; then
      if ! { mkdir -p -- "$(dirname -- "$DEPLOY_DIR/$path")" &&
        cp -a -- "$BACKUP_DIR/files/$path" "$DEPLOY_DIR/$path.deploy-old" &&
        mv -fT -- "$DEPLOY_DIR/$path.deploy-old" "$DEPLOY_DIR/$path"; }; then
        failed=1
      fi
    else
      rm -f -- "$DEPLOY_DIR/$path" || failed=1
    fi
  done <"$BACKUP_DIR/touched"
  if [ -f "$BACKUP_DIR/manifest" ]; then
    cp -a -- "$BACKUP_DIR/manifest" "$MANIFEST" || failed=1
  else
    rm -f -- "$MANIFEST" || failed=1
  fi
  return "$failed"
}

# make_dirs DIR...: directories the compose file bind-mounts but no file fills.
make_dirs() {
  local path
  for path in "$@"; do
    require_relative_path "$path"
    install -d -m 0755 -o 0 -g 0 -- "$DEPLOY_DIR/$path"
  done
}

# ---------------------------------------------------------------------------------------------
# Apply: make the running service use the new files
# ---------------------------------------------------------------------------------------------
# These run inside `if`, where bash ignores `set -e`: every command checks its own status.

# Ids of the running containers of one compose service of this project (none: empty output).
running_containers() {
  docker ps --quiet \
    --filter "label=com.docker.compose.project=$DEPLOY_PROJECT" \
    --filter "label=com.docker.compose.service=$1" \
    --filter status=running
}

# apply_reload SERVICE PORT: POST /-/reload on loopback; the service's answer goes to stderr.
apply_reload() {
  local ids
  ids="$(running_containers "$1")" || return
  if [ -z "$ids" ]; then
    echo "$1 is not running yet: the compose step starts it with these files"
    return 0
  fi
  curl --fail-with-body --silent --show-error --max-time 60 -X POST "http://127.0.0.1:$2/-/reload" >&2 || return
  echo "$1 reloaded its configuration"
}

# Ids of every container of one compose service of this project, running or not (for its logs).
service_containers() {
  docker ps --all --quiet \
    --filter "label=com.docker.compose.project=$DEPLOY_PROJECT" \
    --filter "label=com.docker.compose.service=$1"
}

# probe_ready URL [any-answer | network NETWORK IMAGE]: one readiness GET. By default curl
# from the host, 2xx only; `any-answer`: any HTTP status (only a refused or silent port fails);
# `network`: from a throwaway container of IMAGE (a pinned image already on the host, with
# busybox wget, 2xx only) on the compose NETWORK, for a service that publishes no port.
probe_ready() {
  local url="$1" mode="${2:-}"
  case "$mode" in
    '') curl --fail --silent --output /dev/null --max-time 5 "$url" ;;
    any-answer) curl --silent --output /dev/null --max-time 5 "$url" ;;
    network)
      docker run --rm --network "$3" --entrypoint wget "$4" -q -T 5 -O /dev/null "$url" >/dev/null 2>&1
      ;;
    *)
      echo "unknown readiness probe: $mode" >&2
      return 2
      ;;
  esac
}

# wait_ready SERVICE URL ATTEMPTS [PROBE...]: GET URL (probe_ready) until it answers, at most
# ATTEMPTS tries 2 s apart. When it never does, the service's last log lines go to stderr with
# the reason.
wait_ready() {
  local service="$1" url="$2" attempts="$3" tries=0
  shift 3
  local wanted=" 2xx"
  if [ "${1:-}" = any-answer ]; then wanted=""; fi
  while [ "$tries" -lt "$attempts" ]; do
    tries=$((tries + 1))
    if probe_ready "$url" "$@"; then
      echo "$service is ready ($url answered after $tries tries)"
      return 0
    fi
    sleep 2
  done
  echo "$DEPLOY_UNIT: $service is not ready: $url did not answer$wanted in $attempts tries 2 s apart. Its last log lines:" >&2
  local ids id
  ids="$(service_containers "$service")" || ids=""
  while IFS= read -r id; do
    if [ -n "$id" ]; then docker logs --tail 20 "$id" >&2 2>&1 || true; fi
  done <<<"$ids"
  return 1
}

# apply_restart SERVICE [URL ATTEMPTS [PROBE...]]: `docker restart` (file bind mounts keep the
# old inode; some tools cannot reload), then, with a readiness URL, wait until the service
# answers there (wait_ready).
apply_restart() {
  local ids
  ids="$(running_containers "$1")" || return
  if [ -z "$ids" ]; then
    echo "$1 is not running yet: the compose step starts it with these files"
    return 0
  fi
  local id_list=()
  mapfile -t id_list <<<"$ids"
  docker restart "${id_list[@]}" >/dev/null || return
  echo "$1 restarted"
  if [ -n "${2:-}" ]; then
    wait_ready "$@" || return
  fi
}

# apply_compose_up FILE TIMEOUT: every container to its definition, waiting until healthy.
apply_compose_up() {
  docker compose --project-directory "$DEPLOY_DIR" -f "$DEPLOY_DIR/$1" \
    up --detach --remove-orphans --wait --wait-timeout "$2"
}

apply_now() {
  local kind="$1"
  shift
  case "$kind" in
    reload) apply_reload "$@" ;;
    restart) apply_restart "$@" ;;
    compose-up) apply_compose_up "$@" ;;
    none) return 0 ;;
    *)
      echo "unknown apply kind: $kind" >&2
      return 2
      ;;
  esac
}

# apply_unit KIND ARGS...: applies the swapped-in files. When that fails: the previous files are
# restored and applied again, and the step fails with the tool's message (already on stderr).
apply_unit() {
  local status=0
  apply_now "$@" || status=$?
  [ "$status" -ne 0 ] || return 0

  if [ ! -f "$BACKUP_DIR/manifest" ]; then
    # Nothing older to go back to; the new files stay, so that what did start (and a later
    # `compose down`) still finds its compose file and configs.
    fail "$1 failed (exit $status) on this step's first deploy; there are no previous files to go back to."
  fi
  echo "$DEPLOY_UNIT: $1 failed (exit $status) with the new files; restoring the previous files" >&2
  roll_back || fail "could not restore every previous file from $BACKUP_DIR: fix by hand"
  local again=0
  apply_now "$@" >&2 || again=$?
  if [ "$again" -ne 0 ]; then
    fail "$1 failed with the new files, and again (exit $again) with the previous files restored:" \
      "the service needs attention. The rejected copy is in $STAGE_DIR."
  fi
  fail "$1 failed with the new files; the previous files are back in place and applied." \
    "The rejected copy is in $STAGE_DIR."
}

# unit_done: the step succeeded; the staging copy goes, the backup stays until the next swap.
unit_done() {
  rm -rf -- "$STAGE_DIR"
}

# ---------------------------------------------------------------------------------------------
# Secret files
# ---------------------------------------------------------------------------------------------

# secrets_begin MANIFEST: files created from here on are private until chmod says otherwise.
secrets_begin() {
  DEPLOY_UNIT="secrets"
  MANIFEST="$1"
  umask 077
  install -d -m 0755 -o 0 -g 0 -- "$(dirname -- "$MANIFEST")"
}

# put_secret PATH OWNER MODE <<'EOF': the value is the here-document minus its final newline
# (which a here-document always adds). It is read by the `read` builtin and written by the
# `printf` builtin: no program ever has it in its argv. The file gets its owner and mode while
# still empty, then is written in place: compose mounts secret files one by one, and a running
# container keeps the inode it started with.
put_secret() {
  local path="$1" owner="$2" mode="$3" value=""
  case "$path" in
    /*) ;;
    *) fail "secret file path must be absolute" ;;
  esac
  case "$owner" in
    *[!0-9:]* | :* | *: | *:*:* | '') fail "secret file $path: owner must be uid:gid" ;;
  esac
  case "$mode" in
    0400 | 0600) ;;
    *) fail "secret file $path: mode must be 0400 or 0600" ;;
  esac
  IFS= read -r -d '' value || true
  value="${value%$'\n'}"
  SECRET_PATHS+=("$path")
  install -d -m 0700 -o 0 -g 0 -- "$(dirname -- "$path")"
  if [ -L "$path" ] || { [ -e "$path" ] && [ ! -f "$path" ]; }; then rm -rf -- "$path"; fi
  if [ ! -e "$path" ]; then : >"$path"; fi
  chown -- "$owner" "$path"
  chmod -- "$mode" "$path"
  printf '%s' "$value" >"$path"
}

# secrets_done: the files put_secret wrote are all the secret files the host needs now; the
# ones written last time and no longer needed are deleted.
secrets_done() {
  local -A wanted=()
  local path
  for path in "${SECRET_PATHS[@]}"; do wanted["$path"]=1; done
  if [ -f "$MANIFEST" ]; then
    while IFS= read -r path; do
      [ -n "$path" ] || continue
      [ -n "${wanted[$path]:-}" ] || rm -f -- "$path"
    done <"$MANIFEST"
  fi
  write_list "$MANIFEST" "${SECRET_PATHS[@]}"
}
