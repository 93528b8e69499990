/**
 * The test Docker engine (.ci/docker-engine) and the images test/docker/build-images built in it.
 * A test that needs the engine fails, with the command that starts it, when it is not running.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IMAGES, type ImageMap, LOCAL_STACK_IMAGES } from "../../configs/images";

const REPO = join(__dirname, "..", "..");
const ENGINE_SCRIPT = join(REPO, ".ci", "docker-engine");
const IMAGES_FILE = join(REPO, ".tools", "docker", "test-images.json");
/** Debian's Docker client (docker.io), the version the engine is. */
export const DOCKER_CLI = "/usr/bin/docker";
export const START_ENGINE = "bash .ci/docker-engine start";

/** Test image names by service (test/docker/build-images writes them). */
export interface TestImages {
  readonly prometheus: string;
  readonly alertmanager: string;
  readonly nodeExporter: string;
  readonly processExporter: string;
  readonly grafana: string;
  readonly loki: string;
  readonly alloy: string;
  readonly cadvisor: string;
  readonly gateway: string;
  readonly socketProxy: string;
  readonly mailpit: string;
  readonly host: string;
}

export interface DockerEngine {
  readonly env: Readonly<Record<string, string>>;
  readonly images: TestImages;
  /** Runs the Docker CLI against this engine; throws with its output when it fails. */
  docker(args: readonly string[], options?: { input?: string | Buffer; timeoutMs?: number }): string;
  /** The same, returning status and output instead of throwing. */
  tryDocker(
    args: readonly string[],
    options?: { input?: string | Buffer; timeoutMs?: number },
  ): { status: number | null; stdout: string; stderr: string };
}

/** The running test engine; throws with the command that starts it when there is none. */
export function dockerEngine(): DockerEngine {
  if (!existsSync(DOCKER_CLI)) {
    throw new Error(
      `${DOCKER_CLI} is missing. Start the test engine (it installs docker.io): ${START_ENGINE}`,
    );
  }
  // `env` waits (at most 900 s) for a start still running in the background (.ci/run's).
  const result = spawnSync("bash", [ENGINE_SCRIPT, "env"], { encoding: "utf8", timeout: 960_000 });
  if (result.status !== 0) {
    throw new Error(
      `the test Docker engine is not running (${result.stderr.trim()}). Start it with: ${START_ENGINE}`,
    );
  }
  const env: Record<string, string> = {};
  for (const match of result.stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm))
    env[match[1] as string] = match[2] as string;
  if (!env.DOCKER_HOST) throw new Error(`.ci/docker-engine env printed no DOCKER_HOST: ${result.stdout}`);
  if (!existsSync(IMAGES_FILE)) {
    throw new Error(`${IMAGES_FILE} is missing: the test images were not built. Run: ${START_ENGINE}`);
  }
  const images = JSON.parse(readFileSync(IMAGES_FILE, "utf8")) as TestImages;
  const processEnv = { ...process.env, ...env };
  const tryDocker = (
    args: readonly string[],
    options: { input?: string | Buffer; timeoutMs?: number } = {},
  ) => {
    const run = spawnSync(DOCKER_CLI, [...args], {
      env: processEnv,
      input: options.input,
      encoding: "utf8",
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    if (run.error) throw run.error;
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  };
  return {
    env,
    images,
    tryDocker,
    docker(args, options) {
      const run = tryDocker(args, options);
      if (run.status !== 0) {
        throw new Error(`docker ${args.join(" ")} exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
      }
      return run.stdout;
    },
  };
}

/**
 * The image map the renderers take (configs/images.ts ImageMap): each pinned upstream image ->
 * the test image built here, which keeps its own obs-test/ name.
 */
export function testImageMap(images: TestImages): ImageMap {
  return {
    [IMAGES.prometheus]: images.prometheus,
    [IMAGES.alertmanager]: images.alertmanager,
    [IMAGES.nodeExporter]: images.nodeExporter,
    [IMAGES.processExporter]: images.processExporter,
    [IMAGES.grafana]: images.grafana,
    [IMAGES.loki]: images.loki,
    [IMAGES.alloy]: images.alloy,
    [IMAGES.cadvisor]: images.cadvisor,
    [IMAGES.gateway]: images.gateway,
    [IMAGES.dockerSocketProxy]: images.socketProxy,
    [LOCAL_STACK_IMAGES.mailCatcher]: images.mailpit,
  };
}
