/**
 * The Pulumi program: validated stack config in, components wired together, outputs out.
 * Every decision lives in lib/ (config), components/ (resources) and configs/ (file contents).
 * Outputs carry no secrets; docs/outputs.md describes each one.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ClientHost } from "./components/client-host";
import { InstanceRoles } from "./components/instance-roles";
import { LokiBucket } from "./components/loki-bucket";
import { MonitorHost } from "./components/monitor-host";
import { Network } from "./components/network";
import { SshKey } from "./components/ssh-key";
import { MONITOR_PORTS } from "./lib/catalog";
import { loadStackConfig } from "./lib/pulumi-config";

const { config } = loadStackConfig();
const env = config.stack;

// Every resource gets the extra tags plus Environment and ManagedBy (ours win over extra tags).
const provider = new aws.Provider(`${env}-aws`, {
  region: config.region,
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
    clientExporters: config.clients.flatMap((client) => client.exporters),
  },
  withProvider,
);

const lokiBucket = new LokiBucket(
  `${env}-loki`,
  { environment: env, retentionDays: config.logs.retentionDays, protectData: config.protectData },
  withProvider,
);

const roles = new InstanceRoles(
  `${env}-hosts`,
  {
    environment: env,
    lokiBucketArn: lokiBucket.bucketArn,
    existingInstanceProfile: config.existingInstanceProfile,
  },
  withProvider,
);

const sshKey = new SshKey(
  `${env}-ssh`,
  {
    environment: env,
    publicKey: config.access.sshPublicKey,
    existingKeyPairName: config.access.sshKeyPairName,
  },
  withProvider,
);

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
  },
  withProvider,
);

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

const sshTunnel = (port: number) =>
  pulumi.interpolate`ssh -N -L ${port}:localhost:${port} ${config.access.sshUser}@${monitor.publicIp}`;

export const monitorInstanceId = monitor.instanceId;
export const monitorPublicIp = monitor.publicIp;
export const monitorPrivateIp = monitor.privateIp;
export const monitorDataVolumeId = monitor.dataVolumeId;
export const grafanaUrl =
  config.grafana.rootUrl ?? pulumi.interpolate`http://${monitor.publicIp}:${MONITOR_PORTS.grafana}/`;
export const prometheusTunnel = sshTunnel(MONITOR_PORTS.prometheus);
export const alertmanagerTunnel = sshTunnel(MONITOR_PORTS.alertmanager);
export const lokiBucketName = lokiBucket.bucketName;
export const lokiBucketArn = lokiBucket.bucketArn;
export const monitorInstanceProfileName = roles.monitorInstanceProfileName;
// null when stack config names an existing instance profile (no roles are created then); null
// rather than undefined, which Pulumi would drop with a warning on every run.
export const monitorRoleArn = roles.monitorRoleArn ?? null;
export const clientRoleArn = roles.clientRoleArn ?? null;
export const vpcId = network.vpcId;
export const subnetId = network.subnetId;
export const clients = clientHosts.map((host) => ({
  name: host.name,
  instanceId: host.instanceId,
  privateIp: host.privateIp,
  // For SSH from the admin CIDRs; it changes if the instance is stopped and started.
  publicIp: host.publicIp,
}));
