'use strict';
// sdk.test.js FCRUN: the official Alibaba Cloud FC 3.0 Node.js SDK
// (@alicloud/fc20230330, pinned in package.json) against `FCRUN serve`.
//
// Starts the emulator on 127.0.0.1 with an ephemeral port and known keys,
// points the SDK at it (endpoint 127.0.0.1:PORT, protocol http) and checks
// what a user of the SDK relies on. Every step is time-bounded; the server is
// killed on any exit. Prints `ok`/`not ok` per check, then `N passed, N failed`.

const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { Readable } = require('node:stream');
const FC = require('@alicloud/fc20230330');
const { $OpenApiUtil } = require('@alicloud/openapi-core');
const $dara = require('@darabonba/typescript');

const FCRUN = process.argv[2];
if (!FCRUN) {
  console.error('usage: node sdk.test.js PATH/TO/fcrun');
  process.exit(2);
}
const FUNCTIONS = path.join(__dirname, 'functions'); // echo.lua, boom.lua, slow.lua
const KEY_ID = 'LTAIinteropTestKey';
const KEY_SECRET = 'interop-test-secret-not-a-real-one';
const STEP_MS = 15000;   // the bound on one check
const TOTAL_MS = 120000; // the bound on the whole run

// --- the server, killed whatever happens -----------------------------------
let server = null;
let serverLog = '';
function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
}
process.on('exit', killServer);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killServer(); process.exit(130); });
setTimeout(() => {
  console.error(`sdk.test.js: gave up after ${TOTAL_MS / 1000} s`);
  killServer();
  process.exit(1);
}, TOTAL_MS).unref();

function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(FCRUN, ['serve', '--functions', FUNCTIONS, '--host', '127.0.0.1', '--port', '0',
      '--access-key-id', KEY_ID, '--access-key-secret', KEY_SECRET], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.stderr.on('data', (d) => { serverLog += d; });
    server.on('error', reject);
    server.on('exit', (code, sig) => reject(new Error(
      `fcrun serve exited (${code ?? sig}) before listening: ${out}${serverLog}`.trim())));
  });
}

// --- helpers -----------------------------------------------------------------
function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(got, want, what) {
  assert(got === want, `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

async function readAll(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sdkClient(port) {
  return new FC.default(new $OpenApiUtil.Config({
    accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET,
    endpoint: `127.0.0.1:${port}`, protocol: 'http',
    readTimeout: 10000, connectTimeout: 5000, // the SDK's default read timeout is 3 s
  }));
}

// InvokeFunction through the SDK; headers are InvokeFunctionHeaders fields.
async function invoke(client, name, payload, headers = {}) {
  const req = new FC.InvokeFunctionRequest({ body: Readable.from(Buffer.from(payload)) });
  const res = await client.invokeFunctionWithOptions(name, req, new FC.InvokeFunctionHeaders(headers),
    new $dara.RuntimeOptions({}));
  return { status: res.statusCode, headers: res.headers, body: await readAll(res.body) };
}

// Polls GetAsyncTask until the task leaves the given states.
async function taskUntil(name, taskId, busy, ms = 10000) {
  let task;
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) {
    task = (await client.getAsyncTask(name, taskId, new FC.GetAsyncTaskRequest({}))).body;
    if (!busy.includes(task.status)) break;
  }
  return task;
}

// The SDK's error for an HTTP >= 400: code and status.
async function sdkError(promise) {
  try {
    await promise;
  } catch (e) {
    return { code: e.code, status: e.statusCode ?? (e.data && e.data.statusCode), message: e.message };
  }
  throw new Error('the call succeeded; an error was expected');
}

// A TCP proxy to the emulator that turns every 0x01 byte the client sends into
// 0x02. HTTP framing never holds a 0x01 byte, so only a body that holds one is
// changed, after the SDK has hashed and signed it. `changed` counts the bytes.
function tamperProxy(port) {
  const proxy = { changed: 0 };
  proxy.server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    down.on('data', (d) => {
      const b = Buffer.from(d);
      for (let i = 0; i < b.length; i++) if (b[i] === 1) { b[i] = 2; proxy.changed++; }
      up.write(b);
    });
    down.on('end', () => up.end());
    up.pipe(down);
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  return new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', () => {
    proxy.port = proxy.server.address().port;
    resolve(proxy);
  }));
}

// --- the checks --------------------------------------------------------------
const checks = [];
const check = (name, fn) => checks.push({ name, fn });
let port, client;

// Binary-safe: NUL, 0xff, UTF-8 and JSON-looking text must come back untouched.
const PAYLOAD = Buffer.concat([Buffer.from([0, 0xff, 0x0d, 0x0a]), Buffer.from('héllo {"a":1}')]);

check('sync invoke returns the body exactly, with FC headers', async () => {
  const r = await invoke(client, 'echo', PAYLOAD);
  eq(r.status, 200, 'status');
  assert(r.body.equals(PAYLOAD), `body: got ${r.body.toString('hex')}, want ${PAYLOAD.toString('hex')}`);
  assert(/\S/.test(r.headers['x-fc-request-id'] || ''), 'no x-fc-request-id');
  eq(r.headers['x-fc-invocation-service-version'], 'LATEST', 'x-fc-invocation-service-version');
  eq(r.headers['x-fc-error-type'], undefined, 'x-fc-error-type');
});

check('tail log: x-fc-log-type Tail gives a base64 FC log', async () => {
  const r = await invoke(client, 'echo', 'abc', { xFcLogType: 'Tail' });
  eq(r.status, 200, 'status');
  const b64 = r.headers['x-fc-log-result'];
  assert(b64 && /^[A-Za-z0-9+/]+=*$/.test(b64), `x-fc-log-result is not base64: ${b64}`);
  const log = Buffer.from(b64, 'base64').toString('utf8');
  const rid = r.headers['x-fc-request-id'];
  assert(log.includes(`FC Invoke Start RequestId: ${rid}`), `no start line for ${rid} in:\n${log}`);
  assert(log.includes('echo got 3 bytes'), `no function line in:\n${log}`);
  assert(log.includes(`FC Invoke End RequestId: ${rid}`), `no end line in:\n${log}`);
  assert(/Duration: [\d.]+ ms, Billed Duration: \d+ ms, Memory Size: \d+ MB, Max Memory Used: [\d.]+ MB/
    .test(log), `no duration line in:\n${log}`);
});

check('function error: 200 with x-fc-error-type UnhandledInvocationError', async () => {
  const r = await invoke(client, 'boom', 'on purpose', { xFcLogType: 'Tail' });
  eq(r.status, 200, 'status');
  eq(r.headers['x-fc-error-type'], 'UnhandledInvocationError', 'x-fc-error-type');
  const doc = JSON.parse(r.body.toString('utf8'));
  assert(typeof doc.errorMessage === 'string' && doc.errorMessage.includes('boom: on purpose'),
    `errorMessage: ${JSON.stringify(doc)}`);
  assert('errorType' in doc && 'stackTrace' in doc, `errorType/stackTrace missing: ${JSON.stringify(doc)}`);
  const log = Buffer.from(r.headers['x-fc-log-result'] || '', 'base64').toString('utf8');
  assert(log.includes('Error: Unhandled function error'), `no error mark in the tail log:\n${log}`);
});

check('async invoke: 202 with the task id, then GetAsyncTask until Succeeded', async () => {
  const taskId = `interop_${process.pid}_${Date.now()}`;
  const r = await invoke(client, 'echo', 'async payload', { xFcInvocationType: 'Async', xFcAsyncTaskId: taskId });
  eq(r.status, 202, 'status');
  eq(r.headers['x-fc-async-task-id'], taskId, 'x-fc-async-task-id');
  const task = await taskUntil('echo', taskId, ['Enqueued', 'Running']);
  eq(task.taskId, taskId, 'taskId');
  eq(task.status, 'Succeeded', 'status');
  eq(task.returnPayload, 'async payload', 'returnPayload');
});

check('StopAsyncTask stops a running task; ListAsyncTasks lists it', async () => {
  const taskId = `interop_stop_${process.pid}_${Date.now()}`;
  const r = await invoke(client, 'slow', '20', { xFcInvocationType: 'Async', xFcAsyncTaskId: taskId });
  eq(r.status, 202, 'status');
  eq((await taskUntil('slow', taskId, ['Enqueued'])).status, 'Running', 'status before the stop');
  await client.stopAsyncTask('slow', taskId, new FC.StopAsyncTaskRequest({}));
  eq((await taskUntil('slow', taskId, ['Running', 'Stopping'])).status, 'Stopped', 'status after the stop');
  const list = (await client.listAsyncTasks('slow', new FC.ListAsyncTasksRequest({ limit: 10 }))).body;
  const mine = (list.tasks || []).find((t) => t.taskId === taskId);
  assert(mine, `task ${taskId} not in ListAsyncTasks: ${JSON.stringify(list)}`);
  eq(mine.status, 'Stopped', 'listed status');
});

check('async invoke without a task id gets a generated one', async () => {
  const r = await invoke(client, 'echo', 'x', { xFcInvocationType: 'Async' });
  eq(r.status, 202, 'status');
  assert(/\S/.test(r.headers['x-fc-async-task-id'] || ''), 'no x-fc-async-task-id');
});

check('ListFunctions, one per page, lists every function', async () => {
  const names = [];
  let nextToken;
  for (let page = 0; page < 10; page++) {
    const res = await client.listFunctions(new FC.ListFunctionsRequest({ limit: 1, nextToken }));
    for (const f of res.body.functions || []) names.push(f.functionName);
    nextToken = res.body.nextToken;
    if (!nextToken) break;
  }
  eq(names.sort().join(','), 'boom,echo,slow', 'functions');
});

check('GetFunction describes a function with FC field names', async () => {
  const f = (await client.getFunction('echo', new FC.GetFunctionRequest({}))).body;
  eq(f.functionName, 'echo', 'functionName');
  eq(f.timeout, 7, 'timeout');
  eq(f.memorySize, 256, 'memorySize');
  eq(f.description, 'interop: echo', 'description');
});

check('GetFunction of an unknown function: 404 FunctionNotFound', async () => {
  const e = await sdkError(client.getFunction('nope', new FC.GetFunctionRequest({})));
  eq(e.status, 404, `status (${e.message})`);
  eq(e.code, 'FunctionNotFound', 'code');
});

check('a body changed after signing: 403 SignatureNotMatch', async () => {
  const proxy = await tamperProxy(port);
  try {
    const via = sdkClient(proxy.port);
    // The proxy alone changes nothing: an untouched request goes through.
    const ok = await invoke(via, 'echo', 'clean');
    eq(ok.status, 200, 'untampered request through the proxy');
    eq(ok.body.toString(), 'clean', 'untampered body');
    eq(proxy.changed, 0, 'bytes changed on the clean request');
    const e = await sdkError(invoke(via, 'echo', 'tamper\x01me'));
    eq(proxy.changed, 1, 'bytes changed');
    eq(e.status, 403, `status (${e.message})`);
    eq(e.code, 'SignatureNotMatch', 'code');
  } finally {
    proxy.server.close();
  }
});

check('a wrong secret: 403 SignatureNotMatch', async () => {
  const bad = new FC.default(new $OpenApiUtil.Config({
    accessKeyId: KEY_ID, accessKeySecret: 'wrong', endpoint: `127.0.0.1:${port}`, protocol: 'http',
  }));
  const e = await sdkError(invoke(bad, 'echo', 'x'));
  eq(e.status, 403, `status (${e.message})`);
  eq(e.code, 'SignatureNotMatch', 'code');
});

check('fcrun serve stops on SIGTERM with status 0', async () => {
  const exited = new Promise((resolve) => server.once('exit', (code, sig) => resolve(code ?? sig)));
  server.kill('SIGTERM');
  eq(await exited, 0, 'exit status');
});

// --- run ---------------------------------------------------------------------
(async () => {
  let passed = 0, failed = 0;
  try {
    port = await withTimeout(startServer(), STEP_MS, 'fcrun serve start');
    client = sdkClient(port);
  } catch (e) {
    console.log(`not ok - start fcrun serve: ${e.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  for (const { name, fn } of checks) {
    try {
      await withTimeout(fn(), STEP_MS, name);
      passed++;
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}: ${e.message}`);
    }
  }
  if (failed && serverLog) console.log(`--- fcrun serve stderr:\n${serverLog.trimEnd()}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
