/**
 * How Grafana is reached, on the whole program under Pulumi mocks for every stack file: with a
 * domain, an HTTPS listener with the DNS-validated ACM certificate fronts Grafana, port 80 only
 * redirects, and the monitor admits Grafana's port from the load balancer's group alone; without
 * one, no rule opens Grafana's port to anyone and compose keeps it on loopback; plain HTTP to
 * CIDRs exists only under the explicit insecure setting. Also the stack's validated config
 * refusing half a domain setup.
 */
import { beforeAll, describe, expect, test } from "vitest";
import YAML from "yaml";
import { monitorFiles } from "../configs/host-files";
import { MONITOR_PORTS } from "../lib/catalog";
import { PROJECT } from "../lib/stack-config";
import { listStackNames } from "../lib/stack-files";
import {
  FAKE_AVAILABILITY_ZONE,
  type ProgramRun,
  REPO_ROOT,
  type RecordedResource,
  resourcesOfType,
  runProgram,
  runRefusedProgram,
  SECOND_AVAILABILITY_ZONE,
} from "./support/pulumi-mocks";

const T = {
  certificate: "aws:acm/certificate:Certificate",
  validation: "aws:acm/certificateValidation:CertificateValidation",
  record: "aws:route53/record:Record",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  attachment: "aws:lb/targetGroupAttachment:TargetGroupAttachment",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  subnet: "aws:ec2/subnet:Subnet",
  instance: "aws:ec2/instance:Instance",
} as const;

const DOMAIN = "grafana.example.com";
const ZONE = "Z0123456789ABCDEFGHIJ";
const WITH_DOMAIN = { [`${PROJECT}:grafanaDomain`]: DOMAIN, [`${PROJECT}:grafanaHostedZoneId`]: ZONE };
const GRAFANA = MONITOR_PORTS.grafana;

function only(run: ProgramRun, type: string, name?: string): RecordedResource {
  const found = resourcesOfType(run, type).filter((r) => name === undefined || r.name.endsWith(name));
  expect(
    found.map((r) => r.name),
    `${type} ${name ?? ""}`,
  ).toHaveLength(1);
  return found[0] as RecordedResource;
}

/** Ingress rules that admit a CIDR to a port range containing Grafana's port. */
function grafanaPortFromCidrs(run: ProgramRun): RecordedResource[] {
  return resourcesOfType(run, T.ingress).filter(
    (rule) =>
      Number(rule.inputs.fromPort) <= GRAFANA &&
      Number(rule.inputs.toPort) >= GRAFANA &&
      (rule.inputs.cidrIpv4 !== undefined || rule.inputs.cidrIpv6 !== undefined),
  );
}

function monitorGroupId(run: ProgramRun): string {
  const monitor = resourcesOfType(run, T.instance).find((i) => i.name.endsWith("-monitor"));
  const ids = (monitor?.inputs.vpcSecurityGroupIds ?? []) as string[];
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

function grafanaPorts(run: ProgramRun): string[] {
  const compose = YAML.parse(monitorFiles(run.stackConfig)["compose.yaml"] ?? "");
  return compose.services.grafana.ports;
}

describe.each(listStackNames(REPO_ROOT))("stack %s: Grafana", (stack) => {
  describe("with a domain and hosted zone", () => {
    let run: ProgramRun;
    beforeAll(async () => {
      run = await runProgram(stack, { configOverrides: WITH_DOMAIN });
    });

    test("an HTTPS listener with the DNS-validated ACM certificate fronts Grafana on the monitor", () => {
      const certificate = only(run, T.certificate);
      expect(certificate.inputs).toMatchObject({ domainName: DOMAIN, validationMethod: "DNS" });
      const [option] = certificate.state.domainValidationOptions as Record<string, string>[];
      const validationRecord = only(run, T.record, "-certificate-validation");
      expect(validationRecord.inputs).toMatchObject({
        zoneId: ZONE,
        name: option?.resourceRecordName,
        type: "CNAME",
        records: [option?.resourceRecordValue],
      });
      const validation = only(run, T.validation);
      expect(validation.inputs).toEqual({
        certificateArn: certificate.state.arn,
        validationRecordFqdns: [validationRecord.state.fqdn],
      });

      const loadBalancer = only(run, T.loadBalancer);
      const targets = only(run, T.targetGroup);
      const https = resourcesOfType(run, T.listener).find((l) => l.inputs.port === 443);
      expect(https?.inputs).toEqual({
        loadBalancerArn: loadBalancer.state.arn,
        protocol: "HTTPS",
        port: 443,
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificateArn: certificate.state.arn,
        defaultActions: [{ type: "forward", targetGroupArn: targets.state.arn }],
      });
      expect(targets.inputs).toMatchObject({ protocol: "HTTP", port: GRAFANA, targetType: "instance" });
      const monitor = resourcesOfType(run, T.instance).find((i) => i.name.endsWith("-monitor"));
      expect(only(run, T.attachment).inputs).toEqual({
        targetGroupArn: targets.state.arn,
        targetId: monitor?.id,
        port: GRAFANA,
      });
      expect(loadBalancer.inputs).toMatchObject({
        loadBalancerType: "application",
        internal: false,
        dropInvalidHeaderFields: true,
      });
    });

    test("port 80 only redirects to HTTPS", () => {
      const http = resourcesOfType(run, T.listener).find((l) => l.inputs.port === 80);
      expect(http?.inputs.protocol).toBe("HTTP");
      expect(http?.inputs.defaultActions).toEqual([
        { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
      ]);
      expect(resourcesOfType(run, T.listener)).toHaveLength(2);
    });

    test("the CIDRs reach the load balancer only; Grafana's port admits the load balancer's group only", () => {
      const lbGroup = only(run, T.securityGroup, "-grafana-lb");
      expect(only(run, T.loadBalancer).inputs.securityGroups).toEqual([lbGroup.id]);
      const lbRules = resourcesOfType(run, T.ingress)
        .filter((rule) => rule.inputs.securityGroupId === lbGroup.id)
        .map((rule) => `${rule.inputs.fromPort} ${rule.inputs.cidrIpv4}`)
        .sort();
      const cidrs = run.stackConfig.access.grafanaCidrs;
      expect(lbRules).toEqual([...cidrs.map((c) => `443 ${c}`), ...cidrs.map((c) => `80 ${c}`)].sort());
      expect(grafanaPortFromCidrs(run).map((rule) => rule.name)).toEqual([]);
      const toGrafana = resourcesOfType(run, T.ingress).filter(
        (rule) => rule.inputs.securityGroupId === monitorGroupId(run) && rule.inputs.fromPort === GRAFANA,
      );
      expect(toGrafana.map((rule) => rule.inputs.referencedSecurityGroupId)).toEqual([lbGroup.id]);
      const lbEgress = resourcesOfType(run, T.egress).filter(
        (rule) => rule.inputs.securityGroupId === lbGroup.id,
      );
      expect(lbEgress.map((rule) => rule.inputs)).toEqual([
        expect.objectContaining({
          ipProtocol: "tcp",
          fromPort: GRAFANA,
          toPort: GRAFANA,
          referencedSecurityGroupId: monitorGroupId(run),
        }),
      ]);
    });

    test("the load balancer spans two subnets in different zones, and the domain is an alias of it", () => {
      const subnets = resourcesOfType(run, T.subnet);
      expect(subnets.map((s) => s.state.availabilityZone).sort()).toEqual(
        [FAKE_AVAILABILITY_ZONE, SECOND_AVAILABILITY_ZONE].sort(),
      );
      const byName = (suffix: string) => subnets.find((s) => s.name.endsWith(suffix))?.id;
      expect(only(run, T.loadBalancer).inputs.subnets).toEqual([byName("-public"), byName("-public-b")]);
      const alias = only(run, T.record, "-alias");
      const loadBalancer = only(run, T.loadBalancer);
      expect(alias.inputs).toEqual({
        zoneId: ZONE,
        name: DOMAIN,
        type: "A",
        aliases: [
          { name: loadBalancer.state.dnsName, zoneId: loadBalancer.state.zoneId, evaluateTargetHealth: true },
        ],
      });
    });

    test("Grafana knows it is served over HTTPS: root URL, secure cookies, HSTS, no sign-up, no anonymous access", () => {
      expect(run.outputs.grafanaUrl).toBe(`https://${DOMAIN}/`);
      const compose = YAML.parse(monitorFiles(run.stackConfig)["compose.yaml"] ?? "");
      expect(compose.services.grafana.environment).toMatchObject({
        GF_SERVER_ROOT_URL: `https://${DOMAIN}/`,
        GF_SECURITY_COOKIE_SECURE: "true",
        GF_SECURITY_STRICT_TRANSPORT_SECURITY: "true",
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_AUTH_ANONYMOUS_ENABLED: "false",
      });
      // The load balancer reaches it over the VPC; the security group is the fence.
      expect(grafanaPorts(run)).toEqual([`0.0.0.0:${GRAFANA}:${GRAFANA}`]);
    });
  });

  describe("without a domain", () => {
    let run: ProgramRun;
    beforeAll(async () => {
      run = await runProgram(stack);
    });

    test("Grafana is not on the internet: no load balancer, no rule to its port, loopback only, a tunnel", () => {
      expect(resourcesOfType(run, T.loadBalancer)).toEqual([]);
      expect(resourcesOfType(run, T.certificate)).toEqual([]);
      expect(
        resourcesOfType(run, T.ingress)
          .filter((rule) => rule.inputs.fromPort === GRAFANA)
          .map((rule) => rule.name),
      ).toEqual([]);
      expect(grafanaPorts(run)).toEqual([`127.0.0.1:${GRAFANA}:${GRAFANA}`]);
      const publicIp = String(run.outputs.monitorPublicIp);
      expect(run.outputs.grafanaTunnel).toBe(
        `ssh -N -L ${GRAFANA}:localhost:${GRAFANA} ${run.stackConfig.access.sshUser}@${publicIp}`,
      );
      const environment = YAML.parse(monitorFiles(run.stackConfig)["compose.yaml"] ?? "").services.grafana
        .environment;
      expect(environment.GF_SECURITY_COOKIE_SECURE).toBeUndefined();
    });

    test("plain HTTP to the CIDRs only under grafanaInsecurePlainHttp, loudly described", async () => {
      const insecure = await runProgram(stack, {
        configOverrides: { [`${PROJECT}:grafanaInsecurePlainHttp`]: "true" },
      });
      const rules = grafanaPortFromCidrs(insecure);
      expect(rules.map((rule) => rule.inputs.cidrIpv4).sort()).toEqual(
        [...insecure.stackConfig.access.grafanaCidrs].sort(),
      );
      for (const rule of rules) expect(String(rule.inputs.description)).toMatch(/^INSECURE plain-HTTP/);
      expect(grafanaPorts(insecure)).toEqual([`0.0.0.0:${GRAFANA}:${GRAFANA}`]);
      expect(insecure.outputs.grafanaUrl).toBe(`http://${insecure.outputs.monitorPublicIp}:${GRAFANA}/`);
    });
  });

  test("half a domain setup, or a domain with the insecure switch, is refused before any resource", async () => {
    const refused = await runRefusedProgram(stack, {
      configOverrides: {
        [`${PROJECT}:grafanaDomain`]: DOMAIN,
        [`${PROJECT}:grafanaInsecurePlainHttp`]: "true",
      },
    });
    const message = String((refused.error as Error).message);
    expect(message).toContain(`${PROJECT}:grafanaHostedZoneId`);
    expect(message).toContain(`${PROJECT}:grafanaInsecurePlainHttp`);
    expect(refused.registeredTypes).toEqual([]);
  });
});
