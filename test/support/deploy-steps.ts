/**
 * One planned file step of a host, and its stdin, rendered exactly as the deploy renders them
 * (configs/deploy-plan.ts, configs/deploy-scripts.ts): for tests that run or inspect a single step.
 */
import { type DeployUnit, planDeploy, renderFileUnitScript, unitFiles } from "../../configs/deploy-scripts";
import type { HostFiles } from "../../configs/host-files";

type DeployPlan = ReturnType<typeof planDeploy>;

/** The plan for these files and its step `name`; throws when the plan has no such step. */
export function plannedStep(
  files: HostFiles,
  directory: string,
  name: string,
): { readonly plan: DeployPlan; readonly unit: DeployUnit } {
  const plan = planDeploy(files, directory);
  const unit = plan.units.find((entry) => entry.name === name);
  if (!unit) throw new Error(`no step ${name} in the plan`);
  return { plan, unit };
}

/** The stdin of step `name` for these files. */
export function fileStepScript(
  files: HostFiles,
  directory: string,
  name: string,
  hostName = "monitor",
): string {
  const { plan, unit } = plannedStep(files, directory, name);
  return renderFileUnitScript({
    hostName,
    directory,
    project: plan.project,
    unit,
    files: unitFiles(unit, files),
  });
}
