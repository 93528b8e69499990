/**
 * The rules of policy/rules.ts as `@pulumi/policy` resource policies, all mandatory. Kept apart from
 * index.ts (which starts the policy server) so tests can run the exact policies the engine runs.
 */
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import {
  BUCKET_LOCKDOWN_POLICY,
  bucketLockdownViolations,
  DEFAULT_PLAIN_HTTP_FORBIDDEN_STACKS,
  DEFAULT_PUBLIC_INGRESS_PORTS,
  INTERNET_UNION_POLICY,
  internetUnionViolations,
  POLICY_NAMES,
  POLICY_RULES,
  type PolicyRule,
  type RuleContext,
  ruleApplies,
  type StackResource,
  stackFromUrn,
} from "./rules";

export const POLICY_PACK_NAME = "observability-guardrails";

/** What a policy's `getConfig()` may hold (each policy sees only its own part of the pack config). */
interface PackConfig {
  readonly allowedPublicIngressPorts?: readonly number[];
  readonly allowedAccessKeyIds?: readonly string[];
  readonly plainHttpForbiddenStacks?: readonly string[];
}

/** Config each configurable policy accepts, with its default. */
const CONFIG_SCHEMAS: Readonly<Record<string, ResourceValidationPolicy["configSchema"]>> = {
  [POLICY_NAMES.publicIngress]: {
    properties: {
      allowedPublicIngressPorts: {
        type: "array",
        items: { type: "integer", minimum: 1, maximum: 65535 },
        default: [...DEFAULT_PUBLIC_INGRESS_PORTS],
      },
    },
  },
  [POLICY_NAMES.grafanaPlainHttp]: {
    properties: {
      plainHttpForbiddenStacks: {
        type: "array",
        items: { type: "string" },
        default: [...DEFAULT_PLAIN_HTTP_FORBIDDEN_STACKS],
      },
    },
  },
  [POLICY_NAMES.noAccessKeys]: {
    properties: {
      allowedAccessKeyIds: {
        type: "array",
        items: { type: "string", pattern: "^(AKIA|ASIA)[A-Z0-9]{16}$" },
        default: [],
      },
    },
  },
};

/**
 * The engine wraps inputs in a proxy that throws on values unknown during preview. The access-key
 * scan reads every input, so it looks at the plain object underneath (an unknown is a sentinel
 * string there, which matches no key pattern); the other rules read only the inputs they judge,
 * and a throw there is reported by the engine as "can't run during preview" (advisory).
 */
function plainInputs<T extends object>(props: T): T {
  const target = (props as { __getSpecialProxyTarget?: unknown }).__getSpecialProxyTarget;
  return typeof target === "object" && target !== null ? (target as T) : props;
}

function contextOf(rule: PolicyRule, args: ResourceValidationArgs): RuleContext {
  const config: PackConfig = rule.name in CONFIG_SCHEMAS ? args.getConfig<PackConfig>() : {};
  return {
    allowedPublicIngressPorts: config.allowedPublicIngressPorts ?? DEFAULT_PUBLIC_INGRESS_PORTS,
    allowedAccessKeyIds: config.allowedAccessKeyIds ?? [],
    plainHttpForbiddenStacks: config.plainHttpForbiddenStacks ?? DEFAULT_PLAIN_HTTP_FORBIDDEN_STACKS,
    stack: stackFromUrn(args.urn),
    ...(args.provider ? { provider: { type: args.provider.type, props: args.provider.props } } : {}),
  };
}

function toPolicy(rule: PolicyRule): ResourceValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory",
    ...(CONFIG_SCHEMAS[rule.name] ? { configSchema: CONFIG_SCHEMAS[rule.name] } : {}),
    validateResource: (args, reportViolation) => {
      if (!ruleApplies(rule, args.type)) return;
      const props = rule.name === POLICY_NAMES.noAccessKeys ? plainInputs(args.props) : args.props;
      for (const message of rule.check(args.type, props, contextOf(rule, args))) reportViolation(message);
    },
  };
}

export const POLICIES: readonly ResourceValidationPolicy[] = POLICY_RULES.map(toPolicy);

/** A resource of the whole stack, read without tripping over values unknown during preview. */
function stackResource(resource: PolicyResource): StackResource {
  const dependencies = plainInputs(resource.propertyDependencies ?? {});
  return {
    type: resource.type,
    urn: resource.urn,
    props: plainInputs(resource.props),
    propertyDependencies: Object.fromEntries(
      Object.entries(dependencies).map(([input, sources]) => [input, sources.map((source) => source.urn)]),
    ),
  };
}

export const STACK_POLICIES: readonly StackValidationPolicy[] = [
  {
    ...BUCKET_LOCKDOWN_POLICY,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
      for (const violation of bucketLockdownViolations(args.resources.map(stackResource))) {
        reportViolation(violation.message, violation.urn);
      }
    },
  },
  {
    ...INTERNET_UNION_POLICY,
    enforcementLevel: "mandatory",
    configSchema: CONFIG_SCHEMAS[POLICY_NAMES.publicIngress],
    validateStack: (args, reportViolation) => {
      const config = args.getConfig<PackConfig>();
      const allowed = config.allowedPublicIngressPorts ?? DEFAULT_PUBLIC_INGRESS_PORTS;
      for (const violation of internetUnionViolations(args.resources.map(stackResource), allowed)) {
        reportViolation(violation.message, violation.urn);
      }
    },
  },
];
