# The push gateway's image for the tests: Debian's nginx (the real binary, not a stand-in) in place
# of docker.io/library/nginx. The compose file sets the user (101:101), the entrypoint (nginx)
# and the config; this image only has to carry the binary and its modules.
ARG BASE
FROM ${BASE}
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
  && apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
  && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /etc/nginx/sites-enabled/*
EXPOSE 3101
ENTRYPOINT ["nginx"]
CMD ["-g", "daemon off;"]
