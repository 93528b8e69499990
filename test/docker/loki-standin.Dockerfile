# A stand-in for docker.io/grafana/loki (no Loki binary here): user 10001, data in /loki, answers
# /ready on the http_listen_port of the config file it is given.
ARG BASE
FROM ${BASE}
COPY standin /usr/local/bin/standin
RUN chmod 0755 /usr/local/bin/standin && mkdir -p /loki /etc/loki && chown 10001:10001 /loki
ENV STANDIN_SERVICE=loki STANDIN_WATCH=/etc/loki:/loki
USER 10001:10001
EXPOSE 3100
ENTRYPOINT ["/usr/local/bin/standin"]
CMD ["-config.file=/etc/loki/local-config.yaml"]
