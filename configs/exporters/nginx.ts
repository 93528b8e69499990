/** nginx, through nginx-prometheus-exporter reading nginx's `stub_status` page. */
import type { ExporterRecord } from "./types";

/** nginx-prometheus-exporter's own default; Jenkins listens on 8080 too, hence the per-host setting. */
export const DEFAULT_NGINX_STATUS_URL = "http://127.0.0.1:8080/stub_status";

/** Why a stub_status URL is unusable: the exporter runs on the host network and reads it over plain HTTP(S). */
function statusUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL like ${DEFAULT_NGINX_STATUS_URL}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `"${value}" must be an http(s) URL like ${DEFAULT_NGINX_STATUS_URL}`;
  }
  if (url.username || url.password || url.hash) {
    return `"${value}" must not carry credentials or a fragment`;
  }
  return undefined;
}

export const nginx: ExporterRecord = {
  name: "nginx",
  settings: {
    name: "nginx",
    hostFields: [
      {
        key: "nginxStatusUrl",
        default: DEFAULT_NGINX_STATUS_URL,
        example: "http://127.0.0.1:8081/stub_status",
        description:
          "URL of nginx's stub_status page on the host, read by the nginx exporter (move it off 8080 when Jenkins runs there).",
        problem: statusUrlProblem,
      },
    ],
  },
};
