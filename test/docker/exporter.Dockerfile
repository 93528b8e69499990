# An exporter laid out like its upstream image: one binary as the entrypoint, user nobody.
ARG BASE
FROM ${BASE}
COPY exporter /bin/exporter
USER 65534:65534
ENTRYPOINT ["/bin/exporter"]
