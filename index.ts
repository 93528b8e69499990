/**
 * The Pulumi program: validated stack config in, components wired together, outputs out.
 * Every decision lives in lib/ (config), components/ (resources) and configs/ (file contents).
 * Outputs carry no secrets; docs/outputs.md describes each one.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ClientHost } from "./components/client-host";
import { DataVolumeSnapshots } from "./components/data-volume-snapshots";
import { FleetEnrolment } from "./components/fleet-enrolment";
import { GrafanaEndpoint } from "./components/grafana-endpoint";
import {
  exporterSecretFileSpecs,
  HostDeployment,
  monitorSecretFileSpecs,
  pushPasswordFileSpec,
  requireSecret,
  type SshCredentials,
  sshConnection,
  throughJumpHost,
} from "./components/host-deployment";
import { ImageDigests } from "./components/image-digests";
import { InstanceRoles } from "./components/instance-roles";
import { LokiBucket } from "./components/loki-bucket";
import { ManagedPrometheus } from "./components/managed-prometheus";
import { MonitorHost } from "./components/monitor-host";
import { Network } from "./components/network";
import { PushCredentials } from "./components/push-credentials";
import { SshKey } from "./components/ssh-key";
import { DATA_MOUNT_POINT } from "./configs/cloud-init";
import { buildDashboards, dashboardUrls } from "./configs/dashboards";
import { AGENTS_DEPLOY_DIR, MONITOR_DEPLOY_DIR } from "./configs/deploy-scripts";
import { EXPORTER_SETTINGS } from "./configs/exporters";
import { fleetBundleFiles } from "./configs/fleet-bundle";
import { clientFiles, type DeployInfo, monitorFiles, stackImages } from "./configs/host-files";
import { TEMPO_PORTS } from "./configs/tempo";
import { DATA_SNAPSHOT_TAG, FLEET_PUSH_USER, MONITOR_PORTS } from "./lib/catalog";
import { loadStackConfig } from "./lib/pulumi-config";
import { parsePrometheusDuration } from "./lib/stack-config";

const { config, secrets } = loadStackConfig(EXPORTER_SETTINGS);
const env = config.stack;
// Checked before any resource exists: with key login, nothing can be deployed without the key.
// Agent login carries no key at all: the provider asks the SSH agent (docs/ssh.md).
const sshCredentials: SshCredentials =
  config.access.sshAuth === "agent" ? {} : { privateKey: requireSecret(secrets, "sshPrivateKey") };

// Every resource gets the extra tags plus Environment and ManagedBy (ours win over extra tags).
const provider = new aws.Provider(`${env}-aws`, {
  region: config.region,
  ...config.aws,
  defaultTags: { tags: { ...config.tags, Environment: env, ManagedBy: "pulumi" } },
});
const withProvider = { providers: [provider] };

const network = new Network(
  `${env}-network`,
  {
    environment: env,
    network: config.network,
    sshCidrs: config.access.sshCidrs,
    grafanaCidrs: config.access.grafanaCidrs,
    grafanaExposure: config.grafana.exposure,
    clientExporters: config.clients.flatMap((client) => client.exporters),
    externalHosts: config.externalHosts,
    ...(config.traces ? { otlpPorts: { grpc: TEMPO_PORTS.otlpGrpc, http: TEMPO_PORTS.otlpHttp } } : {}),
  },
  withProvider,
);

// The bucket's policy names the monitor's role and the role's policy names the bucket: each
// resource depends on the other's ARN only, so the role's ARN is handed over once it exists.
const [monitorPrincipalArn, resolveMonitorPrincipalArn] = pulumi.deferredOutput<string>();
const lokiBucket = new LokiBucket(
  `${env}-loki`,
  {
    environment: env,
    retentionDays: config.logs.retentionDays,
    protectData: config.protectData,
    noncurrentVersionDays: config.logs.noncurrentVersionDays,
    monitorPrincipalArn,
    adminArns: config.logs.bucketAdminArns,
    ...(config.traces ? { traceRetentionMs: parsePrometheusDuration(config.traces.retention) } : {}),
  },
  withProvider,
);

const managedPrometheus = config.metrics.managedStore
  ? new ManagedPrometheus(
      `${env}-metrics`,
      { environment: env, store: config.metrics.managedStore },
      withProvider,
    )
  : undefined;

const roles = new InstanceRoles(
  `${env}-hosts`,
  {
    environment: env,
    lokiBucketArn: lokiBucket.bucketArn,
    existingInstanceProfile: config.existingInstanceProfile,
    managedPrometheusWorkspaceArn: managedPrometheus?.workspaceArn,
  },
  withProvider,
);
resolveMonitorPrincipalArn(roles.monitorPrincipalArn);

const sshKey = new SshKey(
  `${env}-ssh`,
  {
    environment: env,
    publicKey: config.access.sshPublicKey,
    existingKeyPairName: config.access.sshKeyPairName,
  },
  withProvider,
);

const snapshotTargetTags = { [DATA_SNAPSHOT_TAG]: `${env}-monitor-data` };
const monitor = new MonitorHost(
  `${env}-monitor`,
  {
    environment: env,
    settings: config.monitor,
    images: config.images,
    subnetId: network.subnetId,
    availabilityZone: network.availabilityZone,
    securityGroupId: network.monitorSecurityGroupId,
    instanceProfileName: roles.monitorInstanceProfileName,
    keyName: sshKey.keyName,
    protectData: config.protectData,
    dataVolumeTags: snapshotTargetTags,
  },
  withProvider,
);

// Daily snapshots of the data volume (dataSnapshotRetainCount; on by default in production).
const dataSnapshots =
  config.monitor.snapshotRetainCount > 0
    ? new DataVolumeSnapshots(
        `${env}-monitor-snapshots`,
        { environment: env, retainCount: config.monitor.snapshotRetainCount, targetTags: snapshotTargetTags },
        withProvider,
      )
    : undefined;

const clientHosts = config.clients.map(
  (client) =>
    new ClientHost(
      `${env}-client-${client.name}`,
      {
        environment: env,
        client,
        images: config.images,
        subnetId: network.subnetId,
        securityGroupId: network.clientSecurityGroupId,
        instanceProfileName: roles.clientInstanceProfileName,
        keyName: sshKey.keyName,
      },
      withProvider,
    ),
);

// Grafana over HTTPS at the stack's domain; without one it is not on the internet (SSH tunnel),
// unless the stack opts in to plain HTTP.
const exposure = config.grafana.exposure;
const grafanaEndpoint =
  exposure.mode === "https"
    ? new GrafanaEndpoint(
        `${env}-grafana`,
        {
          environment: env,
          domain: exposure.domain,
          hostedZoneId: exposure.hostedZoneId,
          vpcId: network.vpcId,
          subnetIds: network.loadBalancerSubnetIds ?? [],
          allowedCidrs: config.access.grafanaCidrs,
          monitorSecurityGroupId: network.monitorSecurityGroupId,
          monitorInstanceId: monitor.instanceId,
        },
        withProvider,
      )
    : undefined;
const exposedGrafanaUrl: pulumi.Output<string> =
  grafanaEndpoint !== undefined
    ? grafanaEndpoint.url
    : exposure.mode === "insecure-http"
      ? pulumi.interpolate`http://${monitor.publicIp}:${MONITOR_PORTS.grafana}/`
      : pulumi.output(`http://localhost:${MONITOR_PORTS.grafana}/`);
const grafanaUrlOutput: pulumi.Output<string> = config.grafana.rootUrl
  ? pulumi.output(config.grafana.rootUrl)
  : exposedGrafanaUrl;

// Each image's registry digest, so hosts run exactly what preview showed (pinImageDigests).
const imageDigests = config.pinImageDigests
  ? new ImageDigests(`${env}-images`, { images: stackImages(config) }).digests
  : pulumi.output(undefined);

// Values the rendered files need that exist only once AWS (and the registries) have answered.
const deployInfo: pulumi.Output<DeployInfo> = pulumi
  .all([
    lokiBucket.bucketName,
    monitor.privateIp,
    network.vpcId,
    grafanaUrlOutput,
    monitor.dataVolumeId,
    imageDigests,
    managedPrometheus
      ? pulumi.all([managedPrometheus.remoteWriteUrl, managedPrometheus.queryUrl])
      : undefined,
  ])
  .apply(([lokiBucketName, monitorPrivateIp, vpcId, grafanaUrl, dataVolumeId, digests, managedStore]) => ({
    lokiBucketName,
    monitorPrivateIp,
    vpcId,
    grafanaUrl,
    dataVolumeId,
    ...(digests !== undefined ? { imageDigests: digests } : {}),
    ...(managedStore !== undefined
      ? { managedStore: { remoteWriteUrl: managedStore[0], queryUrl: managedStore[1] } }
      : {}),
  }));

// Every client and outside host pushes through the monitor's gateway with credentials of its own.
// Enrolled fleet hosts share one push user (docs/fleet.md). Only the hosts outside AWS push metrics.
const pushCredentials = new PushCredentials(`${env}-push`, {
  hosts: [
    ...[...config.clients, ...config.externalHosts].map((host) => host.name),
    ...(config.fleetEnrolment ? [FLEET_PUSH_USER] : []),
  ],
  metricsWriters: config.externalHosts.map((host) => host.name),
});

// Instances other stacks create run the same agents from a bundle in S3 (fleetEnrolment). The
// config reader refuses fleetEnrolment with an existing instance profile, so the client role exists.
const fleetRole =
  roles.clientRoleName && roles.clientInstanceProfileName && roles.clientInstanceProfileArn
    ? {
        name: roles.clientRoleName,
        profileName: roles.clientInstanceProfileName,
        profileArn: roles.clientInstanceProfileArn,
      }
    : undefined;
const fleet =
  config.fleetEnrolment && fleetRole
    ? new FleetEnrolment(
        `${env}-fleet`,
        {
          environment: env,
          region: config.region,
          files: deployInfo.apply((info) =>
            fleetBundleFiles(config, {
              monitorAddress: info.monitorPrivateIp,
              imageDigests: info.imageDigests,
            }),
          ),
          pushPassword: pushCredentials.password(FLEET_PUSH_USER),
          clientRoleName: fleetRole.name,
          clientInstanceProfileName: fleetRole.profileName,
          clientInstanceProfileArn: fleetRole.profileArn,
          clientSecurityGroupId: network.clientSecurityGroupId,
          protectData: config.protectData,
        },
        withProvider,
      )
    : undefined;

// The monitor through its Elastic IP (stable across instance stop/start and replacement).
const monitorConnection = sshConnection(monitor.publicIp, config.access.sshUser, sshCredentials);
const monitorDeployment = new HostDeployment(`${env}-deploy-monitor`, {
  hostName: "monitor",
  connection: monitorConnection,
  identity: monitor.instanceId,
  directory: MONITOR_DEPLOY_DIR,
  renderFiles: (info) => monitorFiles(config, info),
  deployInfo,
  secretFiles: monitorSecretFileSpecs(config, secrets, {
    everyHost: pushCredentials.htpasswd,
    metricsWriters: pushCredentials.metricsHtpasswd,
  }),
  readiness: { waitForCloudInit: true, requiredMounts: [DATA_MOUNT_POINT] },
  teardownOnDelete: false,
  grafanaAdminPassword: requireSecret(secrets, "grafanaAdminPassword"),
  // The whole host component: the data volume attachment included, which cloud-init waits for.
  after: [monitor],
});

// Clients through their private IP, with the monitor as jump host: stable across stop/start, and
// the clients accept SSH from the monitor's security group only. The jump leg verifies the
// monitor's pinned host key; each client's own key is pinned by its deployment.
const clientDeployments = config.clients.map((client, index) => {
  const host = clientHosts[index] as ClientHost;
  return new HostDeployment(`${env}-deploy-${client.name}`, {
    hostName: client.name,
    connection: throughJumpHost(host.privateIp, config.access.sshUser, monitorDeployment.verifiedConnection),
    identity: host.instanceId,
    directory: AGENTS_DEPLOY_DIR,
    renderFiles: (info) => clientFiles(config, client, info),
    deployInfo,
    secretFiles: [
      ...exporterSecretFileSpecs(config, client, secrets, AGENTS_DEPLOY_DIR),
      pushPasswordFileSpec(AGENTS_DEPLOY_DIR, pushCredentials.password(client.name)),
    ],
    readiness: { waitForCloudInit: true, requiredMounts: [] },
    teardownOnDelete: false,
    after: [monitorDeployment.ready],
  });
});

// Hosts outside AWS through the monitor too: it has the private path to them that scraping needs
// anyway (docs/deploy.md). Removing one from config runs `docker compose down` on it. A host key
// in config is verified from the first connection; without one, trust on first use (docs/ssh.md).
const externalDeployments = config.externalHosts.map(
  (host) =>
    new HostDeployment(`${env}-deploy-${host.name}`, {
      hostName: host.name,
      connection: throughJumpHost(host.address, host.sshUser, monitorDeployment.verifiedConnection),
      ...(host.hostKey !== undefined ? { hostKey: host.hostKey } : {}),
      identity: host.address,
      directory: AGENTS_DEPLOY_DIR,
      renderFiles: (info) => clientFiles(config, host, info),
      deployInfo,
      secretFiles: [
        ...exporterSecretFileSpecs(config, host, secrets, AGENTS_DEPLOY_DIR),
        pushPasswordFileSpec(AGENTS_DEPLOY_DIR, pushCredentials.password(host.name)),
      ],
      readiness: { waitForCloudInit: false, requiredMounts: [] },
      teardownOnDelete: true,
      after: [monitorDeployment.ready],
    }),
);

// One known_hosts line per host, with the key the deploy pinned: operators reach the hosts with
// the same verification (`pulumi stack output sshKnownHosts >> ~/.ssh/known_hosts`).
const knownHostsLines = [
  pulumi.interpolate`${monitor.publicIp} ${monitorDeployment.hostKey}`,
  ...clientDeployments.map(
    (deployment, index) =>
      pulumi.interpolate`${(clientHosts[index] as ClientHost).privateIp} ${deployment.hostKey}`,
  ),
  ...externalDeployments.map(
    (deployment, index) => pulumi.interpolate`${config.externalHosts[index]?.address} ${deployment.hostKey}`,
  ),
];

const sshTunnel = (port: number) =>
  pulumi.interpolate`ssh -N -L ${port}:localhost:${port} ${config.access.sshUser}@${monitor.publicIp}`;

export const monitorInstanceId = monitor.instanceId;
export const monitorPublicIp = monitor.publicIp;
export const monitorPrivateIp = monitor.privateIp;
export const monitorDataVolumeId = monitor.dataVolumeId;
// null when the stack keeps no snapshots (dataSnapshotRetainCount 0).
export const monitorDataSnapshotPolicyArn = dataSnapshots?.policyArn ?? null;
export const grafanaUrl = grafanaUrlOutput;
/** Every provisioned dashboard's URL by key (`hosts`, `host-detail`, `exporter-nginx`, ...), for links from other tools. */
export const dashboards = grafanaUrlOutput.apply((url) => dashboardUrls(url, buildDashboards(config)));
/** Grafana through SSH (then at http://localhost:3000/): the way in when no domain is set. */
export const grafanaTunnel = sshTunnel(MONITOR_PORTS.grafana);
/** The load balancer's own DNS name with a Grafana domain (the domain is an alias of it); else null. */
export const grafanaLoadBalancerDnsName = grafanaEndpoint?.loadBalancerDnsName ?? null;
export const prometheusTunnel = sshTunnel(MONITOR_PORTS.prometheus);
export const alertmanagerTunnel = sshTunnel(MONITOR_PORTS.alertmanager);
export const sshKnownHosts = pulumi.all(knownHostsLines).apply((lines) => `${lines.join("\n")}\n`);
export const lokiBucketName = lokiBucket.bucketName;
export const lokiBucketArn = lokiBucket.bucketArn;
export const monitorInstanceProfileName = roles.monitorInstanceProfileName;
// null when stack config names an existing instance profile (no roles are created then); null
// rather than undefined, which Pulumi would drop with a warning on every run.
export const monitorRoleArn = roles.monitorRoleArn ?? null;
export const clientRoleArn = roles.clientRoleArn ?? null;
// null unless managedPrometheus is on (docs/managed-prometheus.md).
export const managedPrometheusWorkspace = managedPrometheus
  ? {
      id: managedPrometheus.workspaceId,
      arn: managedPrometheus.workspaceArn,
      queryUrl: managedPrometheus.queryUrl,
      remoteWriteUrl: managedPrometheus.remoteWriteUrl,
    }
  : null;
/**
 * What a launch template in another stack needs to enrol an instance (docs/fleet.md); null unless
 * fleetEnrolment is on. No secret: the push password stays in SSM, named by `pushPasswordParameter`.
 */
export const fleetEnrolment = fleet
  ? {
      userData: fleet.userData,
      instanceProfileName: fleet.instanceProfileName,
      instanceProfileArn: fleet.instanceProfileArn,
      securityGroupId: fleet.securityGroupId,
      subnetId: network.subnetId,
      discoveryTags: fleet.discoveryTags,
      bundleBucket: fleet.bucketName,
      pointerKey: fleet.pointerKey,
      bundleSha256: fleet.bundleSha256,
      pushPasswordParameter: fleet.parameterName,
    }
  : null;
export const vpcId = network.vpcId;
export const subnetId = network.subnetId;
export const clients = clientHosts.map((host) => ({
  name: host.name,
  instanceId: host.instanceId,
  privateIp: host.privateIp,
  // Its own address for outbound traffic; it changes if the instance is stopped and started.
  publicIp: host.publicIp,
  // Clients accept SSH from the monitor only: jump through it.
  ssh: pulumi.interpolate`ssh -J ${config.access.sshUser}@${monitor.publicIp} ${config.access.sshUser}@${host.privateIp}`,
}));
