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

function run(args, extraEnv = {}) {
  const result = spawnSync(eggScripts, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  process.exit(result.status ?? 1);
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
  const logDir = env('LOG_DIR');
  run([
    'start', '--daemon', `--title=${title}`, '--env=prod', `--port=${port}`, `--workers=${env('WORKERS') ?? '2'}`,
    ...(logDir ? [ `--stdout=${path.join(logDir, 'master-stdout.log')}`, `--stderr=${path.join(logDir, 'master-stderr.log')}` ] : []),
    'dist',
  ], { NODE_CLUSTER_SCHED_POLICY: env('NODE_CLUSTER_SCHED_POLICY') ?? 'none' });
} else if (command === 'stop') {
  run([ 'stop', `--title=${title}` ]);
} else {
  console.error('usage: node scripts/instance.js start|stop   (npm start / npm stop)');
  process.exit(2);
}
