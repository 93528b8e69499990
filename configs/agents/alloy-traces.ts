/**
 * Alloy's trace pipeline (traces on, AWS hosts only): an OTLP receiver for the host's own
 * applications (gRPC 4317, HTTP 4318, published on the host's 127.0.0.1 only), `host.name` set to
 * the host's name where the application did not set it (Grafana's trace-to-logs matches it to
 * Loki's `host` label), batching, and an OTLP exporter to Tempo on the monitor: by its VPC address
 * from a client, by name on the monitor. Plain gRPC inside the VPC: hosts outside AWS get no
 * pipeline, since their traffic would cross the internet unencrypted and unauthenticated.
 */
import type { AlloyExpression, AlloyStatement } from "./alloy-syntax";
import { attr, block, bool, comment, list, ref, str } from "./alloy-syntax";

export const OTLP_PORTS = { grpc: 4317, http: 4318 } as const;
/** The resource attribute that names the host; its value is the host's `host` label in Loki. */
const HOST_ATTRIBUTE = "host.name";

/** `host`: the host's name, or an expression for it (read from the environment on fleet hosts). */
export function alloyTraceStatements(
  host: string | AlloyExpression,
  tempoEndpoint: string,
): AlloyStatement[] {
  const traces = (target: string) =>
    block("output", undefined, [attr("traces", list(ref(`${target}.input`)))]);
  return [
    comment("Traces: OTLP from this host's applications, forwarded to Tempo on the monitor."),
    block("otelcol.receiver.otlp", "host", [
      block("grpc", undefined, [attr("endpoint", str(`0.0.0.0:${OTLP_PORTS.grpc}`))]),
      block("http", undefined, [attr("endpoint", str(`0.0.0.0:${OTLP_PORTS.http}`))]),
      traces("otelcol.processor.attributes.host"),
    ]),
    block("otelcol.processor.attributes", "host", [
      block("action", undefined, [
        attr("key", str(HOST_ATTRIBUTE)),
        attr("value", typeof host === "string" ? str(host) : host),
        attr("action", str("insert")),
      ]),
      traces("otelcol.processor.batch.default"),
    ]),
    block("otelcol.processor.batch", "default", [traces("otelcol.exporter.otlp.tempo")]),
    block("otelcol.exporter.otlp", "tempo", [
      block("client", undefined, [
        attr("endpoint", str(tempoEndpoint)),
        block("tls", undefined, [attr("insecure", bool(true))]),
      ]),
    ]),
  ];
}
