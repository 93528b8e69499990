/**
 * A complete StackConfig for renderer unit tests that must not depend on the stack files.
 * Tests that check what ships should iterate over the real stacks instead.
 */
import type { StackConfig } from "../../lib/stack-config";

export function sampleStackConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  const base: StackConfig = {
    project: "observability",
    stack: "test",
    region: "eu-west-1",
    aws: {},
    tags: { Team: "sre" },
    protectData: false,
    production: false,
    network: { mode: "create", vpcCidr: "10.42.0.0/16", subnetCidr: "10.42.1.0/24" },
    access: {
      sshCidrs: ["203.0.113.0/24"],
      grafanaCidrs: ["203.0.113.0/24"],
      sshPublicKey:
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsampleKeyForTestsOnly000000000000000000 sre@example",
      sshUser: "ubuntu",
      sshAuth: "key",
    },
    images: {
      ubuntuImageNames: {
        x86_64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610",
        arm64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250610",
      },
      ubuntuImageOwner: "099720109477",
    },
    monitor: {
      instanceType: "t3.medium",
      architecture: "x86_64",
      rootVolumeGb: 20,
      dataVolumeGb: 50,
      snapshotRetainCount: 0,
    },
    clients: [
      {
        name: "web-1",
        instanceType: "t3.micro",
        architecture: "x86_64",
        rootVolumeGb: 16,
        exporters: ["nginx"],
        exporterSettings: {},
      },
      {
        name: "db-1",
        instanceType: "t4g.small",
        architecture: "arm64",
        rootVolumeGb: 16,
        exporters: ["postgres", "redis"],
        exporterSettings: {},
      },
    ],
    externalHosts: [
      { name: "onprem-1", address: "192.0.2.10", sshUser: "deploy", exporters: [], exporterSettings: {} },
    ],
    metrics: { scrapeInterval: "30s", evaluationInterval: "30s", retentionTime: "15d" },
    logs: { retentionDays: 30, deletionEnabled: false, noncurrentVersionDays: 7, bucketAdminArns: [] },
    alerting: {
      email: {
        to: ["oncall@example.com"],
        from: "alertmanager@example.com",
        smarthost: "smtp.example.com:587",
        username: "alertmanager",
        requireTls: true,
      },
      slack: { channel: "#alerts" },
      pagerduty: true,
      heartbeat: true,
      heartbeatOptOut: false,
      thresholds: {
        hostDownFor: "2m",
        cpuPercent: 80,
        cpuFor: "5m",
        memoryPercent: 85,
        memoryFor: "5m",
        diskPercent: 85,
        diskFor: "5m",
        diskFillHours: 24,
        inodePercent: 90,
      },
    },
    grafana: { exposure: { mode: "tunnel" } },
    exporterUsers: { postgres: "postgres_exporter", mysql: "exporter", mongodb: "exporter" },
    secretsSet: {
      smtpPassword: true,
      slackWebhookUrl: true,
      pagerdutyRoutingKey: true,
      heartbeatUrl: true,
      grafanaAdminPassword: true,
      sshPrivateKey: true,
      postgresExporterPassword: true,
      mysqlExporterPassword: true,
      mongodbExporterPassword: true,
      redisExporterPassword: true,
    },
    pinImageDigests: true,
    fleetEnrolment: false,
    slos: [],
    probes: { targets: [], certExpiryDays: 14 },
  };
  return { ...base, ...overrides };
}
