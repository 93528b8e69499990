// The loopback AWS stand-ins of test/support/fleet-endpoints.ts, in a process of their own (the
// tests' SSH sessions block the test process while the fleet sync calls these servers):
//   node fleet-aws-servers.cjs S3_PORT SSM_PORT S3_DIR BUCKETS_JSON PARAMETERS_FILE REQUESTS_FILE
// S3 is s3rver (signature checked against its S3RVER/S3RVER credentials). SSM answers
// GetParameter from PARAMETERS_FILE (a JSON object, re-read per request) to SigV4-signed requests
// only, and appends every request to REQUESTS_FILE (one JSON line each). Prints "ready" when both listen.
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const S3rver = require("s3rver");

const [s3Port, ssmPort, s3Dir, bucketsJson, parametersFile, requestsFile] = process.argv.slice(2);
const SIGV4_SSM =
  /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/[a-z0-9-]+\/ssm\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/;

function answer(response, status, body) {
  response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
  response.end(JSON.stringify(body));
}

const ssm = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    const target = String(request.headers["x-amz-target"] || "");
    const authorization = String(request.headers.authorization || "");
    const body = raw ? JSON.parse(raw) : {};
    fs.appendFileSync(requestsFile, `${JSON.stringify({ target, authorization, body })}\n`);
    if (!SIGV4_SSM.test(authorization)) {
      answer(response, 400, { __type: "IncompleteSignatureException", message: "not signed" });
      return;
    }
    const parameters = JSON.parse(fs.readFileSync(parametersFile, "utf8"));
    const name = String(body.Name);
    if (target !== "AmazonSSM.GetParameter" || !Object.hasOwn(parameters, name)) {
      answer(response, 400, { __type: "ParameterNotFound", message: name });
      return;
    }
    // Without WithDecryption, SSM answers a SecureString with its ciphertext.
    const value = body.WithDecryption === true ? parameters[name] : "AQICAHh-ciphertext";
    answer(response, 200, { Parameter: { Name: name, Type: "SecureString", Value: value, Version: 1 } });
  });
});

const s3 = new S3rver({
  address: "127.0.0.1",
  port: Number(s3Port),
  silent: true,
  directory: s3Dir,
  configureBuckets: JSON.parse(bucketsJson).map((name) => ({ name })),
});

s3.run().then(
  () =>
    ssm.listen(Number(ssmPort), "127.0.0.1", () => {
      process.stdout.write("ready\n");
    }),
  (error) => {
    process.stderr.write(`s3rver did not start: ${error}\n`);
    process.exit(1);
  },
);
process.on("SIGTERM", () => process.exit(0));
