/**
 * The AWS side of a fleet host's sync, on loopback, for test/fleet-bootstrap.test.ts
 * (the servers run in a child process, test/support/fleet-aws-servers.cjs, since an SSH session
 * of the tests blocks this process while the host's sync calls them):
 *
 * - S3: the `s3rver` npm package (a real S3 REST server on a file store), checking every request's
 *   signature against its own fixed credentials, so the AWS CLI must sign each request as it
 *   would with an instance role's credentials;
 * - SSM: a minimal GetParameter endpoint (the JSON protocol the AWS CLI speaks) that answers only
 *   SigV4-signed requests for the parameters it holds, and records every request;
 * - the AWS CLI itself: Debian's `awscli` (v2) at /usr/bin/aws, or the test fails saying how to
 *   install it.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, pollUntil } from "./processes";

/** The AWS CLI the sync runs (the host's, first on a session's PATH after the stand-ins). */
export const AWS_CLI = "/usr/bin/aws";

const SERVERS_SCRIPT = join(__dirname, "fleet-aws-servers.cjs");

/** s3rver's built-in credentials: the only ones its signature check accepts. */
const DUMMY_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** Throws, with the install command, unless Debian's AWS CLI v2 is installed. */
export function requireAwsCli(): void {
  const install = "apt-get update && apt-get install -y awscli (Debian bookworm: AWS CLI 2.9)";
  if (!existsSync(AWS_CLI)) throw new Error(`${AWS_CLI} is missing. Install it with: ${install}`);
  const version = spawnSync(AWS_CLI, ["--version"], { encoding: "utf8", timeout: 60_000 });
  if (version.status !== 0 || !/^aws-cli\/2\./.test(version.stdout)) {
    throw new Error(
      `${AWS_CLI} is not AWS CLI v2 (${version.stdout}${version.stderr}). Install it with: ${install}`,
    );
  }
}

/** Environment with the dummy credentials, as an instance role would provide them. */
export function awsCliEnvironment(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    // No instance metadata service here: never wait for one.
    AWS_EC2_METADATA_DISABLED: "true",
    // Nothing from this machine's own AWS setup (profiles, S3 addressing style) applies.
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
}

export interface SsmRequest {
  readonly target: string;
  readonly authorization: string;
  readonly body: Record<string, unknown>;
}

export interface LocalAws {
  readonly s3Endpoint: string;
  readonly ssmEndpoint: string;
  /** Writes an object through the AWS CLI (signed, as the stack's deployer would). */
  put(bucket: string, key: string, body: Buffer | string): Promise<void>;
  /** Sets (or replaces) a SecureString's value. */
  setParameter(name: string, value: string): void;
  /** Every request the SSM endpoint received. */
  ssmRequests(): SsmRequest[];
  /** Ends the servers' process (by its own handle). */
  stop(): Promise<void>;
}

/** s3rver (objects under `<dir>/s3`, with `buckets`) and the SSM endpoint, on free loopback ports. */
export async function startLocalAws(dir: string, buckets: readonly string[]): Promise<LocalAws> {
  const [s3Port, ssmPort] = [await freePort(), await freePort()];
  const parametersFile = join(dir, "ssm-parameters.json");
  const requestsFile = join(dir, "ssm-requests.jsonl");
  const parameters: Record<string, string> = {};
  writeFileSync(parametersFile, "{}");
  appendFileSync(requestsFile, "");
  const child: ChildProcess = spawn(
    process.execPath,
    [
      SERVERS_SCRIPT,
      String(s3Port),
      String(ssmPort),
      join(dir, "s3"),
      JSON.stringify(buckets),
      parametersFile,
      requestsFile,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let exited = false;
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exit = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (!exited) child.kill("SIGKILL");
  };
  await pollUntil(
    "the S3 and SSM stand-ins to listen",
    () => {
      if (exited) throw new Error(`the AWS stand-ins exited:\n${output}`);
      return output.includes("ready\n") ? true : undefined;
    },
    { attempts: 100, intervalMs: 100 },
  ).catch(async (error: Error) => {
    await stop();
    throw error;
  });

  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  return {
    s3Endpoint,
    ssmEndpoint: `http://127.0.0.1:${ssmPort}`,
    put: (bucket, key, body) =>
      new Promise<void>((resolve, reject) => {
        const upload = execFile(
          AWS_CLI,
          [
            "--region",
            "eu-west-1",
            "--endpoint-url",
            s3Endpoint,
            "s3",
            "cp",
            "--only-show-errors",
            "-",
            `s3://${bucket}/${key}`,
          ],
          { env: { ...process.env, ...awsCliEnvironment() }, timeout: 60_000 },
          (error, _stdout, stderr) => {
            if (error)
              reject(new Error(`aws s3 cp to s3://${bucket}/${key} failed: ${stderr || error.message}`));
            else resolve();
          },
        );
        upload.stdin?.end(body);
      }),
    setParameter: (name, value) => {
      parameters[name] = value;
      writeFileSync(parametersFile, JSON.stringify(parameters));
    },
    ssmRequests: () =>
      readFileSync(requestsFile, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as SsmRequest),
    stop,
  };
}
