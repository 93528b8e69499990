/** Policy-pack facts the tests own, and every rule run over one resource (as the pack's policies do). */
import { POLICY_RULES, type RuleContext, ruleApplies } from "../../policy/rules";

/** The AWS resource types the policy tests build. */
export const RESOURCE_TYPES = {
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  instance: "aws:ec2/instance:Instance",
  volume: "aws:ebs/volume:Volume",
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
} as const;

/** The resource's provider, as a policy sees it. */
export type ProviderDescription = NonNullable<RuleContext["provider"]>;

export interface Violation {
  readonly policy: string;
  readonly message: string;
}

/** Every violation of every rule for one resource. */
export function checkResource(
  type: string,
  props: Record<string, unknown>,
  context: RuleContext,
): Violation[] {
  return POLICY_RULES.filter((rule) => ruleApplies(rule, type)).flatMap((rule) =>
    rule.check(type, props, context).map((message) => ({ policy: rule.name, message })),
  );
}
