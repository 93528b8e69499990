/**
 * Grafana over HTTPS at the stack's domain: an ACM certificate validated through DNS in the
 * stack's Route 53 hosted zone, an internet-facing Application Load Balancer that terminates TLS on
 * 443 (80 only redirects to 443), and an alias record for the domain.
 *
 * Reachability: the load balancer's security group admits the Grafana CIDRs on 443 and 80, and may
 * send only to Grafana's port on the monitor's security group; the monitor admits Grafana's port
 * from that group alone, so nothing else reaches Grafana's plain-HTTP port.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { MONITOR_PORTS } from "../lib/catalog";

export interface GrafanaEndpointArgs {
  /** Stack name, used in Name tags. */
  readonly environment: string;
  /** DNS name Grafana is served at (`grafana.example.com`). */
  readonly domain: string;
  /** Route 53 public hosted zone of the domain. */
  readonly hostedZoneId: string;
  readonly vpcId: pulumi.Input<string>;
  /** Two or more public subnets in different availability zones. */
  readonly subnetIds: readonly pulumi.Input<string>[];
  /** IPv4 CIDRs allowed to reach the load balancer. */
  readonly allowedCidrs: readonly string[];
  readonly monitorSecurityGroupId: pulumi.Input<string>;
  readonly monitorInstanceId: pulumi.Input<string>;
}

/** TLS 1.3 and 1.2 only, forward-secret ciphers (AWS's recommended policy for new listeners). */
const GRAFANA_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
const HTTPS_PORT = 443;
const HTTP_PORT = 80;

/** `203.0.113.0/24` -> `203-0-113-0-24`: a stable piece of a resource name. */
function cidrSlug(cidr: string): string {
  return cidr.replace(/[./]/g, "-");
}

export class GrafanaEndpoint extends pulumi.ComponentResource {
  /** `https://<domain>/`: Grafana's root URL. */
  public readonly url: pulumi.Output<string>;
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: GrafanaEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("observability:grafana:GrafanaEndpoint", name, {}, opts);
    const child = { parent: this };
    const env = args.environment;
    const grafanaPort = MONITOR_PORTS.grafana;

    const certificate = new aws.acm.Certificate(
      `${name}-certificate`,
      { domainName: args.domain, validationMethod: "DNS", tags: { Name: `${env}-grafana` } },
      child,
    );
    // One domain, one validation record.
    const validation = certificate.domainValidationOptions.apply((options) => {
      const [option] = options;
      if (option === undefined) throw new Error(`ACM gave no DNS validation record for ${args.domain}`);
      return option;
    });
    const validationRecord = new aws.route53.Record(
      `${name}-certificate-validation`,
      {
        zoneId: args.hostedZoneId,
        name: validation.resourceRecordName,
        type: validation.resourceRecordType,
        records: [validation.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      child,
    );
    const validated = new aws.acm.CertificateValidation(
      `${name}-certificate`,
      { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
      child,
    );

    const group = new aws.ec2.SecurityGroup(
      `${name}-lb`,
      {
        vpcId: args.vpcId,
        description: "Grafana load balancer: HTTPS (and HTTP redirects) from the Grafana CIDRs",
        tags: { Name: `${env}-grafana-lb` },
      },
      child,
    );
    for (const cidr of args.allowedCidrs) {
      for (const port of [HTTPS_PORT, HTTP_PORT]) {
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-lb-${port}-${cidrSlug(cidr)}`,
          {
            securityGroupId: group.id,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            cidrIpv4: cidr,
            description:
              port === HTTPS_PORT ? `Grafana HTTPS from ${cidr}` : `HTTP (redirect to HTTPS) from ${cidr}`,
          },
          child,
        );
      }
    }
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-lb-to-grafana`,
      {
        securityGroupId: group.id,
        ipProtocol: "tcp",
        fromPort: grafanaPort,
        toPort: grafanaPort,
        referencedSecurityGroupId: args.monitorSecurityGroupId,
        description: "Forward to Grafana on the monitor",
      },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-monitor-grafana-from-lb`,
      {
        securityGroupId: args.monitorSecurityGroupId,
        ipProtocol: "tcp",
        fromPort: grafanaPort,
        toPort: grafanaPort,
        referencedSecurityGroupId: group.id,
        description: "Grafana from its load balancer only",
      },
      child,
    );

    const loadBalancer = new aws.lb.LoadBalancer(
      `${name}-lb`,
      {
        loadBalancerType: "application",
        internal: false,
        securityGroups: [group.id],
        subnets: [...args.subnetIds],
        // Requests with header names that are not valid HTTP are dropped, not passed to Grafana.
        dropInvalidHeaderFields: true,
        tags: { Name: `${env}-grafana` },
      },
      child,
    );
    const targets = new aws.lb.TargetGroup(
      `${name}-grafana`,
      {
        vpcId: args.vpcId,
        targetType: "instance",
        protocol: "HTTP",
        port: grafanaPort,
        healthCheck: { path: "/api/health", protocol: "HTTP", matcher: "200" },
        tags: { Name: `${env}-grafana` },
      },
      child,
    );
    new aws.lb.TargetGroupAttachment(
      `${name}-monitor`,
      { targetGroupArn: targets.arn, targetId: args.monitorInstanceId, port: grafanaPort },
      child,
    );
    new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: loadBalancer.arn,
        protocol: "HTTPS",
        port: HTTPS_PORT,
        sslPolicy: GRAFANA_TLS_POLICY,
        certificateArn: validated.certificateArn,
        defaultActions: [{ type: "forward", targetGroupArn: targets.arn }],
      },
      child,
    );
    new aws.lb.Listener(
      `${name}-http-redirect`,
      {
        loadBalancerArn: loadBalancer.arn,
        protocol: "HTTP",
        port: HTTP_PORT,
        defaultActions: [
          {
            type: "redirect",
            redirect: { protocol: "HTTPS", port: String(HTTPS_PORT), statusCode: "HTTP_301" },
          },
        ],
      },
      child,
    );
    new aws.route53.Record(
      `${name}-alias`,
      {
        zoneId: args.hostedZoneId,
        name: args.domain,
        type: "A",
        aliases: [{ name: loadBalancer.dnsName, zoneId: loadBalancer.zoneId, evaluateTargetHealth: true }],
      },
      child,
    );

    this.url = pulumi.output(`https://${args.domain}/`);
    this.loadBalancerDnsName = loadBalancer.dnsName;
    this.securityGroupId = group.id;
    this.registerOutputs({
      url: this.url,
      loadBalancerDnsName: this.loadBalancerDnsName,
      securityGroupId: this.securityGroupId,
    });
  }
}
