/**
 * A small exporter on 127.0.0.1 whose series the test sets: it serves whatever gauges it holds
 * in the Prometheus text format on every path. Used for a host whose disk or CPU the test drives
 * (node_* series under our control), and as a stand-in for monitor services the test does not
 * run (Loki, Grafana, cAdvisor, Alloy): an empty page is a successful scrape, `up` is 1.
 *
 * `stop()` refuses connections (the target is down) until `resume()`, on the same port.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Labels = Readonly<Record<string, string>>;

export interface FakeExporter {
  readonly port: number;
  /** `127.0.0.1:<port>` for a scrape target. */
  readonly address: string;
  /** Sets (or adds) one series' value. */
  set(metric: string, labels: Labels, value: number): void;
  /** Number of scrapes answered so far. */
  readonly scrapes: number;
  stop(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function seriesKey(metric: string, labels: Labels): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((name) => `${name}="${escapeLabelValue(labels[name] ?? "")}"`);
  return pairs.length > 0 ? `${metric}{${pairs.join(",")}}` : metric;
}

export async function startFakeExporter(): Promise<FakeExporter> {
  // Series line (`name{labels}`) -> value; metric name -> its series lines.
  const values = new Map<string, number>();
  const metrics = new Map<string, Set<string>>();
  let scrapes = 0;

  const page = () => {
    const lines: string[] = [];
    for (const [metric, series] of [...metrics].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# TYPE ${metric} gauge`);
      for (const key of [...series].sort()) lines.push(`${key} ${values.get(key)}`);
    }
    return `${lines.join("\n")}\n`;
  };
  const handler = createServer((_request, response) => {
    scrapes += 1;
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    response.end(page());
  });

  let server: Server | undefined = handler;
  const listen = (port: number, target: Server) =>
    new Promise<number>((resolve, reject) => {
      target.once("error", reject);
      target.listen(port, "127.0.0.1", () => resolve((target.address() as AddressInfo).port));
    });
  const port = await listen(0, handler);
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running) return;
    running.closeAllConnections();
    await new Promise<void>((done) => running.close(() => done()));
  };

  return {
    port,
    address: `127.0.0.1:${port}`,
    set(metric, labels, value) {
      const key = seriesKey(metric, labels);
      values.set(key, value);
      const series = metrics.get(metric) ?? new Set<string>();
      series.add(key);
      metrics.set(metric, series);
    },
    get scrapes() {
      return scrapes;
    },
    stop,
    async resume() {
      if (server) return;
      // A closed http.Server cannot listen again: a new one shares the same handler and state.
      const next = createServer((request, response) => handler.emit("request", request, response));
      await listen(port, next);
      server = next;
    },
    close: stop,
  };
}
