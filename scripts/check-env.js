#!/usr/bin/env node
// `npm start` runs this before daemonising: a production start without its environment
// stops here, one line per problem, instead of failing later inside a daemon's log.
'use strict';
const path = require('node:path');

let problems;
try {
  problems = require(path.resolve(__dirname, '..', 'dist', 'config', 'env.js')).prodEnvProblems();
} catch {
  console.error('dist/ is missing or stale: run `npm run build` first');
  process.exit(1);
}
for (const line of problems) console.error(line);
process.exit(problems.length ? 1 : 0);
