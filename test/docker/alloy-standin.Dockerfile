# A stand-in for docker.io/grafana/alloy (no Alloy binary here): answers /-/ready and accepts
# POST /-/reload when its config file is readable (it does not parse Alloy syntax).
ARG BASE
FROM ${BASE}
COPY standin /usr/local/bin/standin
RUN chmod 0755 /usr/local/bin/standin && mkdir -p /etc/alloy /var/lib/alloy/data
ENV STANDIN_SERVICE=alloy STANDIN_WATCH=/etc/alloy
EXPOSE 12345
ENTRYPOINT ["/usr/local/bin/standin"]
CMD ["run", "/etc/alloy/config.alloy"]
