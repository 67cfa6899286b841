#!/usr/bin/env node
// A gRPC client no one on the Engage team wrote: grpc-js with the .proto files loaded at run time by
// proto-loader. It runs a script of calls against a server and prints one JSON document with every
// response and status code, so a test in any language can check the wire contract.
//
//   node client.js --address 127.0.0.1:50051 [--token JWT] SCRIPT
//
// The token comes from --token, else from the ENGAGE_TOKEN environment variable. SCRIPT is JSON (or
// @path/to/script.json): {"steps": [STEP, ...]} where a STEP is
//   {"name": "...", "call": "UpsertCustomer", "request": {...}}           unary
//   {"name": "...", "call": "IngestTransactions", "requests": [{...}]}    client streaming
// with optional "service" (default engage.ingest.v1.IngestService; every *_service.proto under
// protos/engage is loaded), "auth": false (send no authorization metadata), "token_env": the name of
// an environment variable holding this step's token instead (another role's), and "expect": a status
// name such as "UNAUTHENTICATED" (default "OK").
// Exit status: 0 when every step ended as expected, 1 when one did not, 2 on a usage or setup error.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");

const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const DEFAULT_PROTOS = path.resolve(__dirname, "..", "..", "..", "protos");
const DEFAULT_SERVICE = "engage.ingest.v1.IngestService";
const DEADLINE_MS = 30000;
// grpc.status maps names to numbers; the report carries both.
const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));

function usage(message) {
  process.stderr.write(`error: ${message}\nusage: node client.js --address HOST:PORT [--token JWT] SCRIPT\n`);
  process.exit(2);
}

function readScript(text) {
  const source = text.startsWith("@") ? fs.readFileSync(text.slice(1), "utf8") : text;
  const script = JSON.parse(source);
  if (!Array.isArray(script.steps) || script.steps.length === 0) {
    throw new Error("the script needs a non-empty 'steps' list");
  }
  return script;
}

// Every service's .proto, as a path relative to the protos directory (engage/<area>/v1/<name>_service.proto).
function serviceProtos(protosDir) {
  const found = [];
  const walk = (relative) => {
    for (const entry of fs.readdirSync(path.join(protosDir, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) {
        walk(child);
      } else if (entry.name.endsWith("_service.proto")) {
        found.push(child);
      }
    }
  };
  walk("engage");
  return found.sort();
}

function loadServices(protosDir) {
  // The options every non-Python client of ours is expected to use: field names as in the .proto,
  // int64 as decimal strings (JavaScript numbers lose precision past 2^53), enums by name.
  const definition = protoLoader.loadSync(serviceProtos(protosDir), {
    includeDirs: [protosDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  return { definition, loaded: grpc.loadPackageDefinition(definition) };
}

function serviceConstructor(loaded, fullName) {
  const found = fullName.split(".").reduce((scope, part) => (scope ? scope[part] : undefined), loaded);
  if (typeof found !== "function") {
    throw new Error(`unknown service ${fullName}`);
  }
  return found;
}

function metadataFor(step, token) {
  const metadata = new grpc.Metadata();
  const stepToken = step.token_env ? process.env[step.token_env] || "" : token;
  if (step.auth !== false && stepToken) {
    metadata.set("authorization", `Bearer ${stepToken}`);
  }
  return metadata;
}

// Resolves to {code, response} or {code, details}; never rejects, so one failed step does not end the run.
function invoke(client, method, step, metadata) {
  const options = { deadline: new Date(Date.now() + DEADLINE_MS) };
  return new Promise((resolve) => {
    const done = (error, response) => {
      if (error) {
        resolve({ code: error.code, details: error.details || String(error.message) });
      } else {
        resolve({ code: grpc.status.OK, response });
      }
    };
    if (method.requestStream && !method.responseStream) {
      const call = client[step.call](metadata, options, done);
      for (const request of step.requests || []) {
        call.write(request);
      }
      call.end();
    } else if (!method.requestStream && !method.responseStream) {
      client[step.call](step.request || {}, metadata, options, done);
    } else {
      resolve({ code: grpc.status.UNIMPLEMENTED, details: `${step.call}: streaming responses are not scripted` });
    }
  });
}

async function run(address, token, script, services) {
  const clients = new Map();
  const results = [];
  for (const [position, step] of script.steps.entries()) {
    const serviceName = step.service || DEFAULT_SERVICE;
    const definition = services.definition[serviceName];
    const method = definition && definition[step.call];
    if (!method) {
      throw new Error(`step ${position}: ${serviceName} has no method ${step.call}`);
    }
    if (!clients.has(serviceName)) {
      const Service = serviceConstructor(services.loaded, serviceName);
      clients.set(serviceName, new Service(address, grpc.credentials.createInsecure()));
    }
    const outcome = await invoke(clients.get(serviceName), method, step, metadataFor(step, token));
    const status = STATUS_NAMES[outcome.code] || String(outcome.code);
    const expected = step.expect || "OK";
    results.push({
      name: step.name || `${position}:${step.call}`, service: serviceName, call: step.call, code: outcome.code,
      status, expected,
      as_expected: status === expected, response: outcome.response ?? null, details: outcome.details ?? null,
    });
  }
  for (const client of clients.values()) {
    client.close();
  }
  return results;
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      options: { address: { type: "string" }, token: { type: "string" }, protos: { type: "string" } },
      allowPositionals: true,
    });
  } catch (error) {
    usage(error.message);
  }
  const { values, positionals } = parsed;
  if (!values.address) usage("--address is required");
  if (positionals.length !== 1) usage("give exactly one SCRIPT (JSON, or @file)");
  const token = values.token || process.env.ENGAGE_TOKEN || "";

  let script;
  let services;
  try {
    script = readScript(positionals[0]);
    services = loadServices(values.protos || DEFAULT_PROTOS);
  } catch (error) {
    usage(error.message);
  }
  const results = await run(values.address, token, script, services);
  const ok = results.every((result) => result.as_expected);
  process.stdout.write(`${JSON.stringify({ ok, grpc_js_version: grpcJsVersion(), results }, null, 2)}\n`);
  process.exitCode = ok ? 0 : 1;
}

function grpcJsVersion() {
  try {
    return require("@grpc/grpc-js/package.json").version;
  } catch {
    return null;
  }
}

main().catch((error) => {
  process.stderr.write(`error: ${error.stack || error}\n`);
  process.exitCode = 2;
});
