/**
 * An in-process HTTP server on 127.0.0.1 that records every POST it receives, for the receivers
 * Alertmanager reaches over HTTP: Slack (incoming webhook), PagerDuty (events v2) and the
 * Watchdog heartbeat (generic webhook). Each receiver gets its own path, so a test reads which
 * channel got what: `sink.posts("/slack")`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readRequestBody } from "./processes";

export interface WebhookPost {
  readonly path: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  readonly json: unknown;
  readonly body: string;
  /** Order of arrival across all paths, from 1. */
  readonly sequence: number;
}

/** The part of Alertmanager's Slack payload tests read. */
export interface SlackPayload {
  readonly channel?: string;
  readonly attachments: readonly {
    readonly title?: string;
    readonly title_link?: string;
    readonly text?: string;
    /** From Alertmanager's default templates (slack.default.color, slack.default.fallback). */
    readonly color?: string;
    readonly fallback?: string;
  }[];
}

/** The part of Alertmanager's generic webhook payload (heartbeat) tests read. */
export interface WebhookPayload {
  readonly status: string;
  readonly receiver: string;
  readonly alerts: readonly { readonly status: string; readonly labels: Record<string, string> }[];
}

/** The part of Alertmanager's PagerDuty events v2 payload tests read. */
export interface PagerdutyPayload {
  readonly routing_key: string;
  readonly event_action: string;
  readonly payload: { readonly summary: string; readonly severity: string };
}

export interface WebhookSink {
  readonly port: number;
  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string;
  /** Every post so far, oldest first. */
  readonly all: readonly WebhookPost[];
  /** Posts to one path, oldest first. */
  posts(path: string): WebhookPost[];
  close(): Promise<void>;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export function startWebhookSink(): Promise<WebhookSink> {
  const all: WebhookPost[] = [];
  const server = createServer((request, response) => {
    readRequestBody(request)
      .then((body) => {
        if (request.method === "POST") {
          const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
          all.push({ path, body, json: parseJson(body), sequence: all.length + 1 });
        }
        // Slack answers "ok"; PagerDuty 202 with JSON; Alertmanager accepts any 2xx.
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("ok");
      })
      .catch(() => {
        response.writeHead(500);
        response.end();
      });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        url: (path) => `http://127.0.0.1:${port}${path}`,
        all,
        posts: (path) => all.filter((post) => post.path === path),
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
