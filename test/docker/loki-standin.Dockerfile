# A stand-in for docker.io/grafana/loki (no Loki binary here): user 10001, data in /loki, answers
# /ready on the http_listen_port of the config file it is given. Its `loki` command (the deploy's
# `loki -config.file=F -verify-config` check) only checks that F is there and readable: it cannot
# verify Loki's config (test/loki.test.ts checks the rendered file's structure).
ARG BASE
FROM ${BASE}
COPY standin /usr/local/bin/standin
RUN chmod 0755 /usr/local/bin/standin && mkdir -p /loki /etc/loki && chown 10001:10001 /loki \
  && printf '%s\n' '#!/bin/sh' 'for a in "$@"; do case "$a" in -config.file=*) f="${a#-config.file=}";; esac; done' \
    '[ -n "$f" ] && [ -r "$f" ] || { echo "loki stand-in: no readable -config.file" >&2; exit 1; }' \
    'echo "loki stand-in: $f is readable (a stand-in does not verify Loki config)" >&2' >/usr/local/bin/loki \
  && chmod 0755 /usr/local/bin/loki
ENV STANDIN_SERVICE=loki STANDIN_WATCH=/etc/loki:/loki
USER 10001:10001
EXPOSE 3100
ENTRYPOINT ["/usr/local/bin/standin"]
CMD ["-config.file=/etc/loki/local-config.yaml"]
