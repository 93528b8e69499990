/** Jenkins, through its own Prometheus metrics plugin: no exporter container runs for it. */
import type { ExporterRecord } from "./types";

export const jenkins: ExporterRecord = {
  name: "jenkins",
  settings: { name: "jenkins" },
};
