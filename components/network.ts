/**
 * The network the observability hosts live in, and their security groups by role.
 *
 * Reachability, from the outside in:
 * - SSH (22) on the monitor only from the admin CIDRs; on the clients only from the monitor's
 *   security group (the deploy and operators jump through the monitor: one SSH entry point, and
 *   clients are reached by their private IP, which survives a stop/start);
 * - Grafana (3000) on the monitor from no CIDR by default: operators use an SSH tunnel, or, with a
 *   domain, the load balancer's security group (components/grafana-endpoint.ts) is the only source;
 *   only the explicit `grafanaInsecurePlainHttp` opens it to the Grafana CIDRs;
 * - the push gateway (3101) on the monitor only from the clients' security group and from each
 *   host outside AWS (`<address>/32`); it requires each host's own credentials and forwards
 *   Loki's push path alone. Loki's own port (3100) is not published on the monitor at all;
 * - every agent and optional exporter port on the clients only from the monitor's security group;
 * - Prometheus (9090) and Alertmanager (9093) from nowhere: operators reach them through an SSH
 *   tunnel, and the monitor scrapes its own agents over localhost / Docker's network.
 * External (non-AWS) hosts are scraped and reached by SSH over their own addresses: the monitor
 * needs only egress; admitting the monitor is those hosts' own firewall's job (docs/deploy.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { exporterRecord } from "../configs/exporters";
import { AGENT_PORTS, MONITOR_PORTS, SSH_PORT } from "../lib/catalog";
import type { ExternalHost, GrafanaExposure, NetworkSettings } from "../lib/stack-config";

export interface NetworkArgs {
  /** Stack name, used in Name tags. */
  readonly environment: string;
  readonly network: NetworkSettings;
  readonly sshCidrs: readonly string[];
  readonly grafanaCidrs: readonly string[];
  /** Grafana's CIDR rules exist only for insecure-http; https adds the load balancer's second subnet. */
  readonly grafanaExposure: GrafanaExposure;
  /** Optional exporters run by at least one client: only their ports are opened to the monitor. */
  readonly clientExporters: readonly string[];
  /** Hosts outside AWS: each may reach the push gateway from its IPv4 address. */
  readonly externalHosts?: readonly Pick<ExternalHost, "name" | "address">[];
  /** With traces on: Tempo's OTLP ports by protocol, admitted from the clients' group only. */
  readonly otlpPorts?: Readonly<Record<string, number>>;
}

/** A port Prometheus scrapes on the clients, with the name used in rule names and descriptions. */
interface ScrapePort {
  readonly name: string;
  readonly port: number;
}

/** Agent ports plus the ports of the optional exporters in use, sorted by port, without duplicates. */
function clientScrapePorts(clientExporters: readonly string[]): ScrapePort[] {
  const byPort = new Map<number, string>();
  for (const [name, port] of Object.entries(AGENT_PORTS)) byPort.set(port, name);
  for (const exporter of [...new Set(clientExporters)].sort()) {
    byPort.set(exporterRecord(exporter).port, exporter);
  }
  return [...byPort.entries()].sort(([a], [b]) => a - b).map(([port, name]) => ({ name, port }));
}

/** `203.0.113.0/24` -> `203-0-113-0-24`: a stable piece of a resource name. */
function cidrSlug(cidr: string): string {
  return cidr.replace(/[./]/g, "-");
}

export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetId: pulumi.Output<string>;
  /** Availability zone of the subnet: the monitor's data volume must be created in it. */
  public readonly availabilityZone: pulumi.Output<string>;
  public readonly monitorSecurityGroupId: pulumi.Output<string>;
  public readonly clientSecurityGroupId: pulumi.Output<string>;
  /** With a Grafana domain: the hosts' subnet and a second one in another zone (a load balancer needs two). */
  public readonly loadBalancerSubnetIds: pulumi.Output<string>[] | undefined;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:network:Network", name, {}, opts);
    const child = { parent: this };
    const env = args.environment;

    if (args.network.mode === "create") {
      const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        {
          cidrBlock: args.network.vpcCidr,
          enableDnsSupport: true,
          enableDnsHostnames: true,
          tags: { Name: `${env}-observability` },
        },
        child,
      );
      // No availability zone is chosen here: AWS picks one once and the state keeps it. Looking the
      // zones up on every run could move the subnet (and replace every host) when the list changes.
      const subnet = new aws.ec2.Subnet(
        `${name}-public`,
        {
          vpcId: vpc.id,
          cidrBlock: args.network.subnetCidr,
          // Each instance asks for its public address explicitly; nothing else launched here gets one.
          mapPublicIpOnLaunch: false,
          tags: { Name: `${env}-observability-public` },
        },
        child,
      );
      const gateway = new aws.ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: vpc.id, tags: { Name: `${env}-observability` } },
        child,
      );
      const routeTable = new aws.ec2.RouteTable(
        `${name}-public`,
        { vpcId: vpc.id, tags: { Name: `${env}-observability-public` } },
        child,
      );
      new aws.ec2.Route(
        `${name}-default`,
        { routeTableId: routeTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: gateway.id },
        child,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public`,
        { subnetId: subnet.id, routeTableId: routeTable.id },
        child,
      );
      this.vpcId = vpc.id;
      this.subnetId = subnet.id;
      this.availabilityZone = subnet.availabilityZone;
      const exposure = args.grafanaExposure;
      if (exposure.mode === "https" && "cidr" in exposure.secondSubnet) {
        // The first available zone other than the hosts' subnet's; kept once created, so a change in
        // the region's zone list never moves it.
        const zones = aws.getAvailabilityZonesOutput({ state: "available" }, child);
        const zone = pulumi.all([zones.names, subnet.availabilityZone]).apply(([names, taken]) => {
          const other = [...names].sort().find((candidate) => candidate !== taken);
          if (other === undefined)
            throw new Error("the region has one availability zone: a load balancer needs two");
          return other;
        });
        const second = new aws.ec2.Subnet(
          `${name}-public-b`,
          {
            vpcId: vpc.id,
            cidrBlock: exposure.secondSubnet.cidr,
            availabilityZone: zone,
            mapPublicIpOnLaunch: false,
            tags: { Name: `${env}-observability-public-b` },
          },
          { ...child, ignoreChanges: ["availabilityZone"] },
        );
        new aws.ec2.RouteTableAssociation(
          `${name}-public-b`,
          { subnetId: second.id, routeTableId: routeTable.id },
          child,
        );
        this.loadBalancerSubnetIds = [subnet.id, second.id];
      } else {
        this.loadBalancerSubnetIds = undefined;
      }
    } else {
      const exposure = args.grafanaExposure;
      this.loadBalancerSubnetIds =
        exposure.mode === "https" && "subnetId" in exposure.secondSubnet
          ? [pulumi.output(args.network.subnetId), pulumi.output(exposure.secondSubnet.subnetId)]
          : undefined;
      this.vpcId = pulumi.output(args.network.vpcId);
      this.subnetId = pulumi.output(args.network.subnetId);
      this.availabilityZone = aws.ec2
        .getSubnetOutput({ id: args.network.subnetId }, child)
        .apply((subnet) => subnet.availabilityZone);
    }

    const monitorGroup = new aws.ec2.SecurityGroup(
      `${name}-monitor`,
      {
        vpcId: this.vpcId,
        description:
          // Unchanged wording: a new description would replace the group (and touch every host).
          "Observability monitor: Grafana and SSH from allowed CIDRs, Loki from clients and outside hosts",
        tags: { Name: `${env}-monitor` },
      },
      child,
    );
    const clientGroup = new aws.ec2.SecurityGroup(
      `${name}-clients`,
      {
        vpcId: this.vpcId,
        description: "Observability clients: agents scraped by and SSH from the monitor",
        tags: { Name: `${env}-clients` },
      },
      child,
    );

    const ingress = (
      ruleName: string,
      groupId: pulumi.Input<string>,
      port: number,
      description: string,
      source: { cidrIpv4: string } | { referencedSecurityGroupId: pulumi.Input<string> },
    ) =>
      new aws.vpc.SecurityGroupIngressRule(
        ruleName,
        { securityGroupId: groupId, ipProtocol: "tcp", fromPort: port, toPort: port, description, ...source },
        child,
      );

    for (const cidr of args.sshCidrs) {
      ingress(`${name}-monitor-ssh-${cidrSlug(cidr)}`, monitorGroup.id, SSH_PORT, `SSH from ${cidr}`, {
        cidrIpv4: cidr,
      });
    }
    ingress(
      `${name}-clients-ssh-from-monitor`,
      clientGroup.id,
      SSH_PORT,
      "SSH through the monitor (jump host)",
      {
        referencedSecurityGroupId: monitorGroup.id,
      },
    );
    // Plain HTTP to CIDRs only on explicit request (the policy pack fails it in prod).
    for (const cidr of args.grafanaExposure.mode === "insecure-http" ? args.grafanaCidrs : []) {
      ingress(
        `${name}-monitor-grafana-${cidrSlug(cidr)}`,
        monitorGroup.id,
        MONITOR_PORTS.grafana,
        `INSECURE plain-HTTP Grafana from ${cidr}`,
        { cidrIpv4: cidr },
      );
    }
    // The push gateway, not Loki: Loki's port is not published at all.
    ingress(
      `${name}-monitor-gateway-from-clients`,
      monitorGroup.id,
      MONITOR_PORTS.gateway,
      "Push gateway (logs) from clients",
      {
        referencedSecurityGroupId: clientGroup.id,
      },
    );
    for (const host of args.externalHosts ?? []) {
      ingress(
        `${name}-monitor-gateway-from-${host.name}`,
        monitorGroup.id,
        MONITOR_PORTS.gateway,
        `Push gateway (logs, metrics) from ${host.name} (outside AWS)`,
        { cidrIpv4: `${host.address}/32` },
      );
    }
    // OTLP from the clients' Alloy to Tempo (traces on): inside the VPC only, never from outside AWS.
    for (const [protocol, port] of Object.entries(args.otlpPorts ?? {})) {
      ingress(
        `${name}-monitor-otlp-${protocol}-from-clients`,
        monitorGroup.id,
        port,
        `OTLP ${protocol} traces from clients`,
        { referencedSecurityGroupId: clientGroup.id },
      );
    }
    for (const { name: portName, port } of clientScrapePorts(args.clientExporters)) {
      ingress(
        `${name}-clients-${portName}-from-monitor`,
        clientGroup.id,
        port,
        `${portName} scraped by the monitor`,
        { referencedSecurityGroupId: monitorGroup.id },
      );
    }

    // Egress is open on both roles: hosts install packages and pull images at boot, the monitor
    // calls the EC2 API (discovery), S3 (Loki), SMTP, Slack and PagerDuty, and clients push logs to
    // the gateway. Hosts outside AWS are never scraped: they push to the gateway. Those endpoints have no fixed addresses to list.
    for (const [role, group] of [
      ["monitor", monitorGroup],
      ["clients", clientGroup],
    ] as const) {
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-${role}-egress`,
        {
          securityGroupId: group.id,
          ipProtocol: "-1",
          cidrIpv4: "0.0.0.0/0",
          description: "All outbound: packages, images, AWS APIs, alert receivers",
        },
        child,
      );
    }

    this.monitorSecurityGroupId = monitorGroup.id;
    this.clientSecurityGroupId = clientGroup.id;
    this.registerOutputs({
      vpcId: this.vpcId,
      subnetId: this.subnetId,
      availabilityZone: this.availabilityZone,
      monitorSecurityGroupId: this.monitorSecurityGroupId,
      clientSecurityGroupId: this.clientSecurityGroupId,
    });
  }
}
