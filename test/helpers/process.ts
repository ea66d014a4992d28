import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/**
 * The environment for a child script: without egg-bin's NODE_OPTIONS (ts-node with full
 * type-checking) and TS_NODE_* settings, which would make every start take seconds.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([ k ]) => !k.startsWith('TS_NODE_') && k !== 'NODE_OPTIONS'));
  return { ...env, ...extra };
}

export interface SandboxProcess {
  child: ChildProcessWithoutNullStreams;
  /** Lines the sandbox printed on stdout, e.g. `mongo: mongodb://127.0.0.1:1234`. */
  urls: Record<string, string>;
  output: string[];
}

/** Starts `sandbox/cli.ts` as a child process and resolves once it printed every expected URL. */
export function spawnSandbox(args: string[], expect: string[] = [ 'mongo' ]): Promise<SandboxProcess> {
  const child = spawn(process.execPath, [ '-r', 'ts-node/register/transpile-only', 'sandbox/cli.ts', ...args ], { cwd: ROOT, env: childEnv() });
  const proc: SandboxProcess = { child, urls: {}, output: [] };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start: ${proc.output.join('')}`)), 20_000);
    child.stderr.on('data', d => proc.output.push(String(d)));
    child.stdout.on('data', d => {
      for (const line of String(d).split('\n')) {
        const m = /^(\w+): (\S+)$/.exec(line.trim());
        if (m) proc.urls[m[1]] = m[2];
      }
      if (expect.every(k => proc.urls[k])) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`sandbox exited with ${code}: ${proc.output.join('')}`));
    });
  });
}

export function waitExit(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise(resolve => child.once('exit', code => resolve(code)));
}

/** Every file below `dir` (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full) : [ full ];
  });
}
