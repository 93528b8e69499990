/**
 * The Docker socket proxy in front of Alloy on every host (wollomatic/socket-proxy): Alloy reads
 * container lists, container metadata and container logs through it, and nothing else. The raw
 * socket (root on the host to whoever can write to it) is mounted read-only into the proxy alone;
 * a `:ro` bind mount of a socket does not stop writes through it, a filtering proxy does.
 *
 * The proxy serves a filtered socket of its own in a volume only Alloy mounts (no TCP port, so
 * nothing on any network reaches it). Every method but GET and HEAD is refused (405); GET only on
 * the paths below, each anchored by the proxy itself (`^...$`, Go RE2), matched against the
 * decoded path without the query string. Refused: exec, create/start/stop/kill, archive (copying
 * files out of a container), export (its whole filesystem), images, volumes, secrets, swarm,
 * plugins, system info and events.
 */
import { IMAGES } from "../images";
import { type ComposeService, IMAGE_LABEL, ROTATED_JSON_LOGS } from "./compose-types";

export const SOCKET_PROXY_SERVICE = "docker-socket-proxy";

/** Named volume holding the filtered socket; mounted by the proxy and by Alloy. */
export const SOCKET_PROXY_VOLUME = "docker-socket-proxy";
export const SOCKET_PROXY_DIR = "/run/docker-socket-proxy";
export const FILTERED_DOCKER_SOCKET = `${SOCKET_PROXY_DIR}/docker.sock`;

/** An optional API version prefix (`/v1.47`), as Docker clients send after negotiating. */
const VERSION_PREFIX = "(/v1\\.[0-9]{1,3})?";
/** A container id or name. */
const CONTAINER = "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}";

/**
 * What Alloy's Docker discovery and log source call: version negotiation (`/_ping`, `/version`),
 * the container list and network list (discovery labels), one container's metadata and its logs.
 */
const SOCKET_PROXY_ALLOWED: Readonly<Record<"GET" | "HEAD", readonly string[]>> = {
  GET: [
    `${VERSION_PREFIX}/(_ping|version)`,
    `${VERSION_PREFIX}/containers/json`,
    `${VERSION_PREFIX}/containers/${CONTAINER}/(json|logs)`,
    `${VERSION_PREFIX}/networks`,
  ],
  HEAD: [`${VERSION_PREFIX}/_ping`],
};

function socketProxyFlags(): string[] {
  return [
    "-loglevel=WARN",
    `-proxysocketendpoint=${FILTERED_DOCKER_SOCKET}`,
    "-proxysocketendpointfilemode=0600",
    ...SOCKET_PROXY_ALLOWED.GET.map((pattern) => `-allowGET=${pattern}`),
    ...SOCKET_PROXY_ALLOWED.HEAD.map((pattern) => `-allowHEAD=${pattern}`),
    // After an engine restart the socket is a new one: exit, and compose restarts the proxy.
    "-watchdoginterval=60",
    "-stoponwatchdog",
    "-shutdowngracetime=5",
  ];
}

export function socketProxyService(): ComposeService {
  return {
    image: IMAGES.dockerSocketProxy,
    container_name: SOCKET_PROXY_SERVICE,
    restart: "unless-stopped",
    // Root owns /var/run/docker.sock (group docker, whose GID differs per host); no capabilities
    // are kept, so root here can open files it owns and nothing more.
    user: "0:0",
    command: socketProxyFlags(),
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro", `${SOCKET_PROXY_VOLUME}:${SOCKET_PROXY_DIR}`],
    read_only: true,
    cap_drop: ["ALL"],
    security_opt: ["no-new-privileges:true"],
    labels: { [IMAGE_LABEL]: IMAGES.dockerSocketProxy },
    logging: ROTATED_JSON_LOGS,
  };
}
