/**
 * How fast the rendered alerting pipeline tells people, measured with the real binaries: the
 * end-to-end stack (test/support/e2e-stack.ts, durations divided by TIME_SCALE) has one host
 * stopped and started again, several times. For each run:
 * - detection: host stopped -> FIRING mail in the SMTP sink, minus HostUnreachable's `for`;
 * - recovery: node exporter answering again -> RESOLVED mail.
 * Next to them, the floors the config sets: a failed scrape is seen within one scrape interval,
 * the rule within one evaluation interval, and a new group waits group_wait (FIRING); a resolved
 * alert waits for the group's next group_interval tick (RESOLVED).
 */
import { HOST_UNREACHABLE_ALERT } from "../configs/alertmanager";
import { durationSeconds } from "../configs/rules/duration";
import { E2eStack, REAL_HOSTS, waitForUp } from "../test/support/e2e-stack";
import { scaledDuration, TIME_SCALE } from "../test/support/loopback";
import { pollUntil } from "../test/support/processes";
import type { ReceivedMail } from "../test/support/smtp-sink";

export interface PipelineFigures {
  readonly runs: number;
  readonly timeScale: number;
  readonly scrapeSeconds: number;
  readonly evaluationSeconds: number;
  readonly groupWaitSeconds: number;
  readonly groupIntervalSeconds: number;
  readonly forSeconds: number;
  /** FIRING mail time minus stop time minus `for`, per run. */
  readonly detectionSeconds: number[];
  /** RESOLVED mail time minus the node exporter being back, per run. */
  readonly recoverySeconds: number[];
}

/** Alertmanager drops an empty group at its 30s maintenance tick; until then a new alert joins it. */
const GROUP_CLEANUP_HEARTBEATS = 8;

function rendered(yaml: string, key: string): string {
  const match = new RegExp(`^\\s*${key}: (\\S+)$`, "m").exec(yaml);
  if (!match?.[1]) throw new Error(`no ${key} in the rendered config`);
  return match[1];
}

export async function measureAlertPipeline(runs: number): Promise<PipelineFigures> {
  const stack = new E2eStack({ label: "bench-pipeline" });
  try {
    await stack.start();
    const [host] = REAL_HOSTS;
    const prometheusYml = stack.loopback.files["prometheus/prometheus.yml"] ?? "";
    const alertmanagerYml = stack.loopback.files["alertmanager/alertmanager.yml"] ?? "";
    const forSeconds = durationSeconds(scaledDuration(stack.config.alerting.thresholds.hostDownFor));
    const figures = {
      scrapeSeconds: durationSeconds(rendered(prometheusYml, "scrape_interval")),
      evaluationSeconds: durationSeconds(rendered(prometheusYml, "evaluation_interval")),
      // The route's own timing: the first group_wait / group_interval in the file is the root's.
      groupWaitSeconds: durationSeconds(rendered(alertmanagerYml, "group_wait")),
      groupIntervalSeconds: durationSeconds(rendered(alertmanagerYml, "group_interval")),
    };
    await waitForUp(stack, host, "node", 1);
    await waitForUp(stack, host, "process", 1);
    await stack.heartbeatsPass(1);

    const mails = (status: string): ReceivedMail[] =>
      stack.smtp.mails.filter(
        (mail) => mail.subject.startsWith(`[${status}`) && mail.subject.includes(HOST_UNREACHABLE_ALERT),
      );
    const nextMail = (status: string, before: number) =>
      pollUntil(`${status} mail`, () => mails(status)[before], { attempts: 1200, intervalMs: 50 });

    const detectionSeconds: number[] = [];
    const recoverySeconds: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const firedBefore = mails("FIRING").length;
      const stoppedAt = Date.now();
      await stack.host(host).stop();
      const firing = await nextMail("FIRING", firedBefore);
      detectionSeconds.push((firing.receivedAt - stoppedAt) / 1000 - forSeconds);

      const resolvedBefore = mails("RESOLVED").length;
      await stack.host(host).start();
      const backAt = Date.now();
      const resolved = await nextMail("RESOLVED", resolvedBefore);
      recoverySeconds.push((resolved.receivedAt - backAt) / 1000);
      await stack.heartbeatsPass(GROUP_CLEANUP_HEARTBEATS);
    }
    return { runs, timeScale: TIME_SCALE, forSeconds, ...figures, detectionSeconds, recoverySeconds };
  } finally {
    await stack.close();
  }
}
