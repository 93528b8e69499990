# Laid out like docker.io/prom/alertmanager: /bin/alertmanager and /bin/amtool, config in
# /etc/alertmanager, data in /alertmanager, user nobody. Debian's binary reads its default
# templates from /usr/share/prometheus/alertmanager (the upstream one embeds them).
ARG BASE
FROM ${BASE}
COPY alertmanager amtool /bin/
COPY templates /usr/share/prometheus/alertmanager/
RUN mkdir -p /etc/alertmanager /alertmanager && chown 65534:65534 /alertmanager
USER 65534:65534
WORKDIR /alertmanager
VOLUME ["/alertmanager"]
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
