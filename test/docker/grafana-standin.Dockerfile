# A stand-in for docker.io/grafana/grafana (no Grafana binary here): user 472 with group 0, data
# in /var/lib/grafana, answers /api/health on 3000, and a `grafana cli admin
# reset-admin-password --password-from-stdin` that records the sha256 of the password it read.
ARG BASE
FROM ${BASE}
COPY standin /usr/local/bin/standin
RUN chmod 0755 /usr/local/bin/standin \
  && printf '%s\n' '#!/bin/sh' \
    '# grafana cli admin reset-admin-password --password-from-stdin: records what it was given.' \
    '[ "$*" = "cli admin reset-admin-password --password-from-stdin" ] || { echo "stand-in: unsupported: grafana $*" >&2; exit 2; }' \
    'sha256sum | cut -d" " -f1 >/var/lib/grafana/standin-admin-password-reset.sha256' \
    > /usr/local/bin/grafana && chmod 0755 /usr/local/bin/grafana \
  && mkdir -p /var/lib/grafana /etc/grafana/provisioning && chown 472:0 /var/lib/grafana
ENV STANDIN_SERVICE=grafana STANDIN_WATCH=/etc/grafana:/var/lib/grafana:/run/secrets
USER 472:0
WORKDIR /var/lib/grafana
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/standin"]
