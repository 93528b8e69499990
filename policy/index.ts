/**
 * Policy pack entry point: `pulumi preview --policy-pack policy` (see docs/ci.md, "Policy pack").
 * Constructing the pack starts the analyzer server the engine talks to; the policies themselves
 * live in policies.ts and rules.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES, POLICY_PACK_NAME, STACK_POLICIES } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
  description:
    "Guardrails of the observability stack: network exposure, IMDSv2, encryption, S3, no static keys, tags.",
  enforcementLevel: "mandatory",
  policies: [...POLICIES, ...STACK_POLICIES],
});
