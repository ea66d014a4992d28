#!/usr/bin/env node
// Compiles the application (app/, config/, app.ts, agent.ts; never sandbox/ or test/) to
// dist/, a directory egg-scripts can run as it is: compiled JS next to a package.json and
// the project's node_modules. Building elsewhere keeps stale .js out of dev and test runs.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const bin = name => path.join(root, 'node_modules', '.bin', name);

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(bin('ets'), { cwd: root, stdio: 'inherit' });
execFileSync(bin('tsc'), [ '-p', 'tsconfig.build.json' ], { cwd: root, stdio: 'inherit' });
// agent.ts names sandbox/boot's type, so tsc emits it; production must not carry it.
fs.rmSync(path.join(dist, 'sandbox'), { recursive: true, force: true });

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
pkg.egg = { ...pkg.egg, typescript: false, declarations: false };
fs.writeFileSync(path.join(dist, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
fs.symlinkSync(path.join('..', 'node_modules'), path.join(dist, 'node_modules'), 'dir');
console.log('built dist/');
