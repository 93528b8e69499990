# A stand-in for docker.io/wollomatic/socket-proxy (no binary of it here): it only holds the
# service's place, so compose starts the agents' project as rendered; it filters nothing. The
# proxy's allowlist is checked in test/docker-socket-proxy.test.ts.
ARG BASE
FROM ${BASE}
ENTRYPOINT ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 1; done", "socket-proxy-standin"]
