# Laid out like docker.io/prom/prometheus: /bin/prometheus and /bin/promtool, config in
# /etc/prometheus, data in /prometheus, user nobody.
ARG BASE
FROM ${BASE}
COPY prometheus promtool /bin/
RUN mkdir -p /etc/prometheus /prometheus && chown 65534:65534 /prometheus
USER 65534:65534
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
