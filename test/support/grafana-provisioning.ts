/** Grafana's provisioning files read back as Grafana reads them: parsed from the rendered YAML. */
import YAML from "yaml";
import { renderGrafanaProvisioning } from "../../configs/grafana";
import type { StackConfig } from "../../lib/stack-config";

export interface ProvisionedDatasource {
  readonly name: string;
  readonly type: string;
  readonly uid: string;
  readonly url: string;
  readonly isDefault: boolean;
  readonly jsonData: Record<string, unknown>;
}

/** The datasources of `provisioning/datasources/datasources.yml`. */
export function provisionedDatasources(
  config: StackConfig,
  options: Parameters<typeof renderGrafanaProvisioning>[1] = {},
): ProvisionedDatasource[] {
  return YAML.parse(renderGrafanaProvisioning(config, options).datasources).datasources;
}

/** The first provider of `provisioning/dashboards/provider.yml`. */
export function dashboardProvider(config: StackConfig): { type: string; options: { path: string } } {
  return YAML.parse(renderGrafanaProvisioning(config).dashboardProvider).providers[0];
}
