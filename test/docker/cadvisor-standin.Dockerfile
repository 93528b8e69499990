# A stand-in for ghcr.io/google/cadvisor (no cAdvisor binary here): answers /healthz on --port.
ARG BASE
FROM ${BASE}
COPY standin /usr/local/bin/standin
RUN chmod 0755 /usr/local/bin/standin
ENV STANDIN_SERVICE=cadvisor STANDIN_WATCH=
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/standin"]
