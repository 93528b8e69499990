/**
 * The rendered monitor's Prometheus on loopback for a test about one host's exporters: the host's
 * targets are the test's own, every other monitor job and host agent answers from one stub,
 * Alertmanager, SMTP and PagerDuty point at a closed port (the rules are evaluated, nothing is sent).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { HostFiles } from "../../configs/host-files";
import { JOB_NAMES } from "../../configs/prometheus";
import { pointAtLoopback } from "./loopback";
import { freePort, type ProcessGroup } from "./processes";
import { TOOLS } from "./tools";

export interface StubbedMonitorPlan {
  /** The monitor's rendered files. */
  readonly rendered: HostFiles;
  /** Where the loopback copies of the files and the TSDB go. */
  readonly dir: string;
  /** The address of the stub that answers every job the test does not run for real. */
  readonly stubAddress: string;
  readonly hostName: string;
  /** The host's real targets by job, over the stubbed node, process, cAdvisor and Alloy agents. */
  readonly hostTargets: Readonly<Record<string, string>>;
  /** The fake EC2 API the EC2 discovery jobs query. */
  readonly ec2Endpoint: string;
}

/** Starts that Prometheus in `group`; resolves to its base URL once ready. */
export async function startStubbedMonitorPrometheus(
  group: ProcessGroup,
  plan: StubbedMonitorPlan,
): Promise<string> {
  const prometheus = `127.0.0.1:${await freePort()}`;
  const closed = `127.0.0.1:${await freePort()}`;
  const stub = plan.stubAddress;
  const loopback = pointAtLoopback(plan.rendered, {
    dir: plan.dir,
    prometheus,
    alertmanager: closed,
    monitorTargets: {
      [JOB_NAMES.prometheus]: prometheus,
      [JOB_NAMES.alertmanager]: closed,
      [JOB_NAMES.loki]: stub,
      [JOB_NAMES.grafana]: stub,
      [JOB_NAMES.node]: stub,
      [JOB_NAMES.process]: stub,
      [JOB_NAMES.cadvisor]: stub,
      [JOB_NAMES.alloy]: stub,
    },
    hostTargets: {
      [plan.hostName]: {
        [JOB_NAMES.node]: stub,
        [JOB_NAMES.process]: stub,
        [JOB_NAMES.cadvisor]: stub,
        [JOB_NAMES.alloy]: stub,
        ...plan.hostTargets,
      },
    },
    ec2Endpoint: plan.ec2Endpoint,
    smtpSmarthost: closed,
    pagerdutyUrl: `http://${closed}/`,
  });
  for (const [path, content] of Object.entries(loopback.files)) {
    const target = join(plan.dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  const url = `http://${prometheus}`;
  await group.start({
    name: "prometheus",
    tool: TOOLS.prometheus,
    args: loopback.prometheusArgs,
    readyUrl: `${url}/-/ready`,
    // EC2 SD must never reach for instance metadata or AWS from a test.
    env: { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" },
  });
  return url;
}
