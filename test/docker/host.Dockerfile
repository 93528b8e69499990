# A Debian host for the deploy tests (one container per host, privileged): OpenSSH server, sudo,
# curl and a Docker engine of its own (Debian's docker.io with the compose v2 plugin), so the
# deploy logs in over SSH and runs `sudo -n docker compose ...` exactly as on a real host.
# `deploy` is the login user, with passwordless sudo. host-init starts the engine, then sshd.
ARG BASE
FROM ${BASE}
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
  && apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io openssh-server sudo curl iproute2 procps util-linux ca-certificates >/dev/null \
  && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
  && useradd --create-home --shell /bin/bash --password '*' deploy \
  && echo 'deploy ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy \
  && rm -f /etc/ssh/ssh_host_* && mkdir -p /run/sshd
COPY docker-compose /usr/libexec/docker/cli-plugins/docker-compose
COPY host-init /usr/local/sbin/host-init
VOLUME ["/var/lib/docker"]
ENTRYPOINT ["/usr/local/sbin/host-init"]
