#!/usr/bin/env node
// `npm start` / `npm stop`: one production instance, named after its port.
//
//   start  checks the production environment (one line per problem, exit 1, before
//          daemonising), then `egg-scripts start --daemon` on dist/ with PORT and WORKERS
//   stop   `egg-scripts stop` of that same instance only
//
// The instance's title is APP_TITLE, or wxmp-egg-backend-<PORT>, so several instances on one
// host start and stop independently (`PORT=7002 npm stop` stops the one on 7002).
// NODE_CLUSTER_SCHED_POLICY defaults to `none`: the workers accept connections themselves.
// Node's round-robin hands each connection from the master to a worker and waits for that
// busy worker to acknowledge it before handing it another, which under a burst of new
// connections kept requests waiting 10 s before any worker saw them.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const eggScripts = path.join(root, 'node_modules', '.bin', 'egg-scripts');
const env = name => (process.env[name] ?? '').trim() || undefined;

const port = env('PORT') ?? '7001';
const title = env('APP_TITLE') ?? `wxmp-egg-backend-${port}`;
const command = process.argv[2];

function run(args) {
  const result = spawnSync(eggScripts, args, { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

/**
 * The cause of a failed production start in one line, from what egg-scripts printed (about
 * 200 lines of the master's stderr, the cause buried inside).
 * @param {string} output what egg-scripts wrote to stderr
 * @param {string} port the port the instance was to listen on
 */
function startFailureCause(output, port) {
  const mongo = /MongooseServerSelectionError|MongoServerSelectionError|MongoNetworkError/.test(output);
  const refused = /connect ECONNREFUSED ([^\s)]+)/.exec(output);
  if (mongo && refused) return `MongoDB is unreachable at ${refused[1]} (check MONGODB_URI and that the server runs)`;
  const unresolved = /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([^\s)]+)/.exec(output);
  if (mongo && unresolved) return `MongoDB host ${unresolved[1]} does not resolve (check MONGODB_URI)`;
  if (/Authentication failed|bad auth/i.test(output)) return 'MongoDB refused the credentials in MONGODB_URI';
  if (mongo) return 'MongoDB did not answer in time (check MONGODB_URI and the network)';
  if (/EADDRINUSE/.test(output)) return `port ${port} is already in use (another instance? set PORT)`;
  if (/EACCES/.test(output) && /listen/.test(output)) return `no permission to listen on port ${port}`;
  if (/timeout/i.test(output) && /Start failed/.test(output)) return 'the app did not become ready in time';
  const error = /^.*\b(?:[A-Z][A-Za-z]*Error|Error):.*$/m.exec(output);
  return error ? error[0].replace(/^.*?\[[^\]]*\]\s*/, '').trim().slice(0, 300) : 'see the full log';
}

if (command === 'start') {
  let problems;
  let warnings;
  try {
    const checks = require(path.join(root, 'dist', 'config', 'env.js'));
    problems = checks.prodEnvProblems();
    warnings = checks.prodEnvWarnings();
  } catch {
    console.error('dist/ is missing or stale: run `npm run build` first');
    process.exit(1);
  }
  for (const line of problems) console.error(line);
  if (problems.length) process.exit(1);
  for (const line of warnings) console.error(line);
  const logDir = env('LOG_DIR') ?? path.join(process.env.HOME || require('node:os').homedir(), 'logs');
  const stderrFile = path.join(logDir, 'master-stderr.log');
  const result = spawnSync(eggScripts, [
    'start', '--daemon', `--title=${title}`, '--env=prod', `--port=${port}`, `--workers=${env('WORKERS') ?? '2'}`,
    `--stdout=${path.join(logDir, 'master-stdout.log')}`, `--stderr=${stderrFile}`,
    'dist',
  ], { cwd: root, stdio: [ 'ignore', 'pipe', 'pipe' ], encoding: 'utf8', env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: env('NODE_CLUSTER_SCHED_POLICY') ?? 'none' } });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (result.status === 0) {
    // egg-scripts names ~/logs whatever --stdout/--stderr say; the master's logs are in logDir.
    for (const line of (result.stdout ?? '').split('\n')) if (line && !/Save log file to/.test(line)) console.log(line);
    console.log(`[instance] ${title} started on port ${port}; master logs in ${logDir}`);
    process.exit(0);
  }
  console.error(`npm start failed: ${startFailureCause(output, port)}`);
  console.error(`the full log: ${stderrFile}`);
  process.exit(1);
} else if (command === 'stop') {
  run([ 'stop', `--title=${title}` ]);
} else {
  console.error('usage: node scripts/instance.js start|stop   (npm start / npm stop)');
  process.exit(2);
}
