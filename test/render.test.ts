/**
 * The `render` command end to end, run the way users run it (`npx tsx scripts/render.ts`), over
 * every stack file in the repository (found on disk, not listed here).
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { UNKNOWN_MONITOR_ADDRESS } from "../configs/agents/alloy";
import { DATA_VOLUME_ID_PLACEHOLDER } from "../configs/cloud-init";
import { GRAFANA_ROOT_URL_PLACEHOLDER } from "../configs/grafana";
import { CLOUD_INIT_FILE, stackHostFiles } from "../configs/host-files";
import { listStackNames, loadStackConfigFromFiles } from "../lib/stack-files";
import { isPinnedImage } from "./support/images";
import { sampleStackConfig } from "./support/sample-config";
import { WITHOUT_SECRETS } from "./support/stack-files";

/** What rendered files show for Loki's bucket before `pulumi up` has created it. */
const LOKI_BUCKET_PLACEHOLDER = "<loki-bucket-name: known after pulumi up>";

const ROOT = join(__dirname, "..");
const temporaryDirs: string[] = [];

function temporaryDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "render-test-"));
  temporaryDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

function render(args: string[]) {
  const result = spawnSync("npx", ["tsx", "scripts/render.ts", ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Relative path -> bytes of every file under `dir`. */
function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current)) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

const stacks = listStackNames(ROOT);

describe("render over the repository's stacks", () => {
  it("finds the stacks on disk", () => {
    expect(stacks).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  for (const stack of stacks) {
    describe(`stack ${stack}`, () => {
      const config = loadStackConfigFromFiles(stack, ROOT, WITHOUT_SECRETS);
      const first = join(temporaryDir(), "out");
      const second = join(temporaryDir(), "out");
      let firstRun: ReturnType<typeof render>;
      let secondRun: ReturnType<typeof render>;
      beforeAll(() => {
        firstRun = render(["--stack", stack, "--out", first]);
        secondRun = render(["--stack", stack, "--out", second]);
      });

      it("succeeds and lists what it wrote", () => {
        expect(firstRun.status, firstRun.stderr).toBe(0);
        expect(firstRun.stdout).toContain("monitor/compose.yaml");
      });

      it("writes the monitor's files and one directory per client and outside host", () => {
        const tree = readTree(first);
        for (const path of [
          "monitor/compose.yaml",
          "monitor/cloud-init.yaml",
          "monitor/prometheus/prometheus.yml",
          "monitor/alertmanager/alertmanager.yml",
          "monitor/loki/loki.yml",
          "monitor/loki/runtime/overrides.yaml",
          "monitor/grafana/provisioning/datasources/datasources.yml",
          "monitor/grafana/provisioning/dashboards/provider.yml",
        ]) {
          expect(tree.has(path), path).toBe(true);
        }
        expect([...tree.keys()].some((path) => path.startsWith("monitor/prometheus/rules/"))).toBe(true);
        for (const host of [...config.clients, ...config.externalHosts]) {
          expect(tree.has(`${host.name}/compose.yaml`), host.name).toBe(true);
        }
        for (const client of config.clients) expect(tree.has(`${client.name}/cloud-init.yaml`)).toBe(true);
      });

      it("gives the same bytes when run twice", () => {
        expect(secondRun.status, secondRun.stderr).toBe(0);
        const a = readTree(first);
        const b = readTree(second);
        expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
        for (const [path, bytes] of a) expect(b.get(path)?.equals(bytes), path).toBe(true);
      });

      it("pins every image of every compose file it writes", () => {
        const composeFiles = [...readTree(first)].filter(([path]) => path.endsWith("/compose.yaml"));
        expect(composeFiles.length).toBe(1 + config.clients.length + config.externalHosts.length);
        for (const [path, bytes] of composeFiles) {
          const services = YAML.parse(bytes.toString("utf8")).services as Record<string, { image: string }>;
          for (const [name, service] of Object.entries(services)) {
            expect(isPinnedImage(service.image), `${path} ${name}: ${service.image}`).toBe(true);
          }
        }
      });

      it("shows images by tag without contacting a registry, and says the deploy pins digests", () => {
        const composeFiles = [...readTree(first)].filter(([path]) => path.endsWith("/compose.yaml"));
        for (const [path, bytes] of composeFiles) {
          const services = YAML.parse(bytes.toString("utf8")).services as Record<string, { image: string }>;
          for (const service of Object.values(services)) expect(service.image, path).not.toContain("@");
        }
        expect(config.pinImageDigests).toBe(true);
        expect(firstRun.stdout).toContain("deploys each as tag@sha256:<digest>");
      });

      it("shows values known only after deployment as placeholders", () => {
        const loki = readFileSync(join(first, "monitor/loki/loki.yml"), "utf8");
        expect(YAML.parse(loki).common.storage.s3.bucketnames).toBe(LOKI_BUCKET_PLACEHOLDER);
        expect(YAML.parse(loki).common.storage.s3.region).toBe(config.region);
      });
    });
  }
});

/** A scratch project: the repository's Pulumi.yaml plus one stack file built by the test. */
function scratchProject(stack: string, edit: (settings: Record<string, unknown>) => void): string {
  const root = temporaryDir();
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
  const base = YAML.parse(readFileSync(join(ROOT, "Pulumi.dev.yaml"), "utf8"));
  edit(base.config);
  writeFileSync(join(root, `Pulumi.${stack}.yaml`), YAML.stringify(base));
  return root;
}

describe("render refuses or warns", () => {
  it("names the stacks it found when the stack does not exist", () => {
    const result = render(["--stack", "no-such-stack", "--out", join(temporaryDir(), "out")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no stack "no-such-stack"');
    for (const stack of stacks) expect(result.stderr).toContain(stack);
  });

  it("prints the loader's message and exits non-zero on bad config", () => {
    const root = scratchProject("broken", (settings) => {
      settings["observability:logRetentionDays"] = "0";
    });
    const out = join(temporaryDir(), "out");
    const result = render(["--stack", "broken", "--out", out, "--root", root]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("logRetentionDays");
    expect(result.stderr).toContain("pulumi config set");
    expect(() => readdirSync(out)).toThrow();
  });

  it("warns about missing secrets, and never writes an encrypted secret it was given", () => {
    const ciphertext = "v1:SENTINELciphertextNeverInOutput==";
    const root = scratchProject("withsecret", (settings) => {
      settings["observability:grafanaAdminPassword"] = { secure: ciphertext };
    });
    const out = join(temporaryDir(), "out");
    const result = render(["--stack", "withsecret", "--out", out, "--root", root]);
    expect(result.status, result.stderr).toBe(0);
    // Grafana's password is set; the SMTP password of the dev-like stack is still missing.
    expect(result.stderr).toContain("smtpPassword");
    expect(result.stderr).not.toContain("observability:grafanaAdminPassword <value>");
    expect(result.stderr).toContain("pulumi up");
    for (const [path, bytes] of readTree(out)) {
      expect(bytes.toString("utf8").includes("SENTINEL"), path).toBe(false);
    }
  });

  it("does not write into a non-empty directory that is not an earlier render", () => {
    const out = temporaryDir();
    writeFileSync(join(out, "precious.txt"), "keep me");
    const result = render(["--stack", stacks[0] as string, "--out", out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("holds no earlier render");
    expect(readFileSync(join(out, "precious.txt"), "utf8")).toBe("keep me");
  });

  it("explains its usage when arguments are missing", () => {
    const result = render(["--stack", "dev"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--out is required");
  });
});

describe("stackHostFiles (what render writes and the deploy ships)", () => {
  const config = sampleStackConfig();
  const placeholders = [
    LOKI_BUCKET_PLACEHOLDER,
    UNKNOWN_MONITOR_ADDRESS,
    GRAFANA_ROOT_URL_PLACEHOLDER,
    DATA_VOLUME_ID_PLACEHOLDER,
  ];
  const deployInfo = {
    lokiBucketName: "observability-test-logs-0a1b2c",
    monitorPrivateIp: "10.42.1.23",
    grafanaUrl: "http://198.51.100.20:3000/",
    dataVolumeId: "vol-0123456789abcdef0",
  };

  it("has one entry per host, EC2 clients with user data and outside hosts without", () => {
    const hosts = stackHostFiles(config);
    expect(Object.keys(hosts)).toEqual(["monitor", "web-1", "db-1", "onprem-1"]);
    expect(hosts["web-1"]?.[CLOUD_INIT_FILE]).toBeDefined();
    expect(hosts["onprem-1"]?.[CLOUD_INIT_FILE]).toBeUndefined();
  });

  it("shows placeholders before deployment", () => {
    const text = Object.values(stackHostFiles(config))
      .flatMap((files) => Object.values(files))
      .join("\n");
    for (const placeholder of placeholders) expect(text, placeholder).toContain(placeholder);
  });

  it("carries every deploy-time value into the files and leaves no placeholder behind", () => {
    const hosts = stackHostFiles(config, deployInfo);
    for (const [host, files] of Object.entries(hosts)) {
      for (const [path, content] of Object.entries(files)) {
        for (const placeholder of placeholders) {
          expect(content.includes(placeholder), `${host}/${path} still has ${placeholder}`).toBe(false);
        }
      }
    }
    const monitor = hosts.monitor as Record<string, string>;
    expect(monitor["loki/loki.yml"]).toContain(deployInfo.lokiBucketName);
    expect(monitor["compose.yaml"]).not.toContain(":3100:3100");
    expect(monitor["compose.yaml"]).toContain(deployInfo.grafanaUrl);
    expect(monitor["cloud-init.yaml"]).toContain(deployInfo.dataVolumeId);
    expect(hosts["web-1"]?.["alloy/config.alloy"]).toContain(`http://${deployInfo.monitorPrivateIp}:3101/`);
  });

  it("refuses a host named like the monitor's directory", () => {
    const clash = sampleStackConfig({
      externalHosts: [
        { name: "monitor", address: "192.0.2.10", sshUser: "deploy", exporters: [], exporterSettings: {} },
      ],
    });
    expect(() => stackHostFiles(clash)).toThrow(/used twice/);
  });
});
