/**
 * The one change the Docker tests make to rendered compose files: cAdvisor's `privileged: true`
 * is dropped. This machine's capability bounding set lacks CAP_SYS_RESOURCE, and runc refuses
 * privileged containers here ("unable to apply caps: operation not permitted"); the cAdvisor
 * stand-in needs no privilege. A real host runs the file as rendered.
 */
import { parse, stringify } from "yaml";

export function composeForThisMachine(composeYaml: string): string {
  const compose = parse(composeYaml) as { services: Record<string, Record<string, unknown>> };
  const cadvisor = compose.services.cadvisor;
  if (cadvisor?.privileged !== true) throw new Error("the rendered cAdvisor service is no longer privileged");
  delete cadvisor.privileged;
  return stringify(compose, { lineWidth: 0, defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}
