# A stand-in for docker.io/axllent/mailpit (the local stack's mail catcher; no binary here): SMTP
# on 1025, /readyz and /api/v1/messages (subject and recipient of each message) on 8025.
ARG BASE
FROM ${BASE}
COPY standin /usr/local/bin/standin
RUN chmod 0755 /usr/local/bin/standin
ENV STANDIN_SERVICE=mailpit STANDIN_WATCH=
EXPOSE 1025 8025
ENTRYPOINT ["/usr/local/bin/standin"]
