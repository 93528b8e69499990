/**
 * A fake EC2 Query API on 127.0.0.1 for discovery tests: DescribeInstances (with AWS filter
 * semantics) and DescribeAvailabilityZones, answering in EC2's XML response format.
 *
 * Filters are applied the way EC2 applies them, so a test through Prometheus' ec2_sd_configs
 * checks both what Prometheus asks for and what its relabelling does with the answer:
 * conditions of different filters are ANDed, values of one filter ORed, `*` and `?` are
 * wildcards, `tag:<Key>` matches that tag's value and `tag-key` its presence. Unsupported
 * filter names are refused with EC2's InvalidParameterValue error rather than ignored.
 * Signatures are not checked (any credentials are accepted).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { readRequestBody } from "./processes";

export type InstanceStateName =
  | "pending"
  | "running"
  | "shutting-down"
  | "terminated"
  | "stopping"
  | "stopped";

export interface FakeInstance {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly state: InstanceStateName;
  readonly availabilityZone: string;
  readonly instanceType?: string;
  /** Default FAKE_VPC_ID. */
  readonly vpcId?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** The VPC of every fake instance that names none. */
export const FAKE_VPC_ID = "vpc-0fake";

export interface Ec2Filter {
  readonly name: string;
  readonly values: readonly string[];
}

export interface RecordedRequest {
  readonly action: string;
  readonly filters: readonly Ec2Filter[];
}

const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

const XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

/** `Filter.1.Name=tag:Scrape&Filter.1.Value.1=true` -> [{ name: "tag:Scrape", values: ["true"] }] */
export function parseFilters(params: URLSearchParams): Ec2Filter[] {
  const byIndex = new Map<number, { name?: string; values: Map<number, string> }>();
  for (const [key, value] of params) {
    const match = /^Filter\.(\d+)\.(Name|Value\.(\d+))$/.exec(key);
    if (!match) continue;
    const index = Number(match[1]);
    const entry = byIndex.get(index) ?? { values: new Map<number, string>() };
    if (match[2] === "Name") entry.name = value;
    else entry.values.set(Number(match[3]), value);
    byIndex.set(index, entry);
  }
  return [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, entry]) => {
      if (entry.name === undefined) throw new Ec2Error(`Filter.${index} has values but no Name`);
      return {
        name: entry.name,
        values: [...entry.values.entries()].sort(([a], [b]) => a - b).map(([, value]) => value),
      };
    });
}

class Ec2Error extends Error {}

/** EC2 filter values: `*` any run of characters, `?` one character, `\` escapes. */
function wildcardMatches(pattern: string, value: string): boolean {
  let regex = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? "";
    if (char === "\\" && i + 1 < pattern.length) {
      regex += (pattern[++i] ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (char === "*") regex += ".*";
    else if (char === "?") regex += ".";
    else regex += char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${regex}$`, "s").test(value);
}

function filterValuesOf(instance: FakeInstance, filterName: string): string[] {
  if (filterName.startsWith("tag:")) {
    const value = instance.tags[filterName.slice(4)];
    return value === undefined ? [] : [value];
  }
  switch (filterName) {
    case "tag-key":
      return Object.keys(instance.tags);
    case "instance-state-name":
      return [instance.state];
    case "instance-id":
      return [instance.instanceId];
    case "private-ip-address":
      return [instance.privateIp];
    case "availability-zone":
      return [instance.availabilityZone];
    case "instance-type":
      return [instance.instanceType ?? "t3.micro"];
    case "vpc-id":
      return [instance.vpcId ?? FAKE_VPC_ID];
    default:
      throw new Ec2Error(`The filter '${filterName}' is invalid`);
  }
}

export function matchesFilters(instance: FakeInstance, filters: readonly Ec2Filter[]): boolean {
  return filters.every((filter) => {
    if (filter.values.length === 0) throw new Ec2Error(`The filter '${filter.name}' has no values`);
    const actual = filterValuesOf(instance, filter.name);
    return filter.values.some((pattern) => actual.some((value) => wildcardMatches(pattern, value)));
  });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function element(name: string, content: string): string {
  return `<${name}>${content}</${name}>`;
}

function instanceXml(instance: FakeInstance, subnetId: string): string {
  const tags = Object.entries(instance.tags)
    .map(([key, value]) =>
      element("item", element("key", escapeXml(key)) + element("value", escapeXml(value))),
    )
    .join("");
  return element(
    "item",
    [
      element("instanceId", instance.instanceId),
      element("imageId", "ami-0123456789abcdef0"),
      element(
        "instanceState",
        element("code", String(STATE_CODES[instance.state])) + element("name", instance.state),
      ),
      element("privateDnsName", `ip-${instance.privateIp.replace(/\./g, "-")}.internal`),
      element("dnsName", ""),
      element("instanceType", instance.instanceType ?? "t3.micro"),
      element(
        "placement",
        element("availabilityZone", instance.availabilityZone) + element("tenancy", "default"),
      ),
      element("privateIpAddress", instance.privateIp),
      element("subnetId", subnetId),
      element("vpcId", instance.vpcId ?? FAKE_VPC_ID),
      element("architecture", "x86_64"),
      element("tagSet", tags),
    ].join(""),
  );
}

/** A DescribeInstances response: one reservation per instance, like separate launches. */
export function describeInstancesXml(instances: readonly FakeInstance[]): string {
  const reservations = instances
    .map((instance, index) =>
      element(
        "item",
        element("reservationId", `r-${String(index).padStart(17, "0")}`) +
          element("ownerId", "123456789012") +
          element("groupSet", "") +
          element("instancesSet", instanceXml(instance, "subnet-0fake")),
      ),
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="${XMLNS}">${element("requestId", "00000000-0000-0000-0000-000000000000")}${element("reservationSet", reservations)}</DescribeInstancesResponse>`;
}

export function describeAvailabilityZonesXml(zones: readonly string[], region: string): string {
  const items = zones
    .map((zone, index) =>
      element(
        "item",
        element("zoneName", zone) +
          element("zoneId", `${region.replace(/-/g, "").slice(0, 4)}-az${index + 1}`) +
          element("zoneState", "available") +
          element("regionName", region),
      ),
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeAvailabilityZonesResponse xmlns="${XMLNS}">${element("requestId", "00000000-0000-0000-0000-000000000001")}${element("availabilityZoneInfo", items)}</DescribeAvailabilityZonesResponse>`;
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${element("Code", code)}${element("Message", escapeXml(message))}</Error></Errors>${element("RequestID", "00000000-0000-0000-0000-00000000000e")}</Response>`;
}

export interface FakeEc2 {
  /** Endpoint URL for `ec2_sd_configs[].endpoint`. */
  readonly url: string;
  /** Every API call received, in order. */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/** Starts the fake on a free loopback port. */
export async function startFakeEc2(instances: readonly FakeInstance[], region: string): Promise<FakeEc2> {
  const requests: RecordedRequest[] = [];
  const respond = (response: ServerResponse, status: number, body: string) => {
    response.writeHead(status, { "content-type": "text/xml;charset=UTF-8" });
    response.end(body);
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const params =
        request.method === "POST" ? new URLSearchParams(await readRequestBody(request)) : url.searchParams;
      const action = params.get("Action") ?? "";
      try {
        const filters = parseFilters(params);
        requests.push({ action, filters });
        if (action === "DescribeInstances") {
          respond(
            response,
            200,
            describeInstancesXml(instances.filter((instance) => matchesFilters(instance, filters))),
          );
        } else if (action === "DescribeAvailabilityZones") {
          const zones = [...new Set(instances.map((instance) => instance.availabilityZone))].sort();
          respond(response, 200, describeAvailabilityZonesXml(zones, region));
        } else {
          respond(
            response,
            400,
            errorXml("InvalidAction", `The action ${action} is not valid for this web service.`),
          );
        }
      } catch (error) {
        if (!(error instanceof Ec2Error)) throw error;
        respond(response, 400, errorXml("InvalidParameterValue", error.message));
      }
    })().catch((error: unknown) => {
      respond(response, 500, errorXml("InternalError", String(error)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address !== "object") throw new Error("fake EC2 has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
