/**
 * `npm run bench:alloc`: what one `GET /user/info` allocates, the app beside the peer, by
 * package and by function. The production build and the peer run with one worker each and
 * V8's sampling heap profiler (bench/heap_sampler.js); each serves BENCH_REQUESTS requests
 * (default 20000, after a warm-up) while sampling. Unlike CPU time, bytes allocated per
 * request hardly move with the host's load, so a change of a kilobyte shows; and every
 * kilobyte is work for the young-generation GC. BENCH_APP_DIR runs another build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';
import { ROOT } from '../test/helpers/prod';
import { frameGroup, printBeside, startSideBySide } from './harness';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const OUT = path.join(ROOT, 'bench', 'profiles');
const TITLE = 'wxmp-bench-alloc';

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

function bytesBy(root: SamplingNode): { groups: Map<string, number>; functions: Map<string, number>; total: number } {
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  const stack = [ root ];
  while (stack.length) {
    const node = stack.pop()!;
    stack.push(...node.children);
    if (!node.selfSize) continue;
    const { functionName, lineNumber } = node.callFrame;
    const group = frameGroup(node.callFrame);
    const fn = `${group} ${functionName || '(anonymous)'}:${lineNumber + 1}`;
    total += node.selfSize;
    groups.set(group, (groups.get(group) ?? 0) + node.selfSize);
    functions.set(fn, (functions.get(fn) ?? 0) + node.selfSize);
  }
  return { groups, functions, total };
}

async function profileOf(pid: number): Promise<SamplingNode> {
  const file = path.join(OUT, `${pid}.heapprofile`);
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await new Promise(r => setTimeout(r, 100));
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { head: SamplingNode }).head;
}

async function main(): Promise<void> {
  if (!process.env.BENCH_APP_DIR) execFileSync(process.execPath, [ 'scripts/build.js' ], { cwd: ROOT, stdio: 'inherit' });
  fs.mkdirSync(OUT, { recursive: true });
  for (const f of fs.readdirSync(OUT)) if (f.endsWith('.heapprofile')) fs.rmSync(path.join(OUT, f)); // a pid's file is read as soon as it exists
  const sampler = path.join(ROOT, 'bench', 'heap_sampler.js');
  process.env.BENCH_ALLOC_DIR = OUT; // read by the sampler in the app's workers and the peer
  const sides = await startSideBySide(TITLE, {
    appDir: process.env.BENCH_APP_DIR, appArgs: [ `--node-options--require=${sampler}` ], peerArgs: [ `--require=${sampler}` ],
  });
  const measured = new Map<'app' | 'peer', ReturnType<typeof bytesBy>>();
  try {
    for (const name of [ 'app', 'peer' ] as const) {
      const url = sides.infoUrls[name];
      const pid = sides.pids[name];
      const { headers } = sides;
      await autocannon({ url, headers, connections: 32, duration: 3 }); // warm-up
      process.kill(pid, 'SIGUSR2');
      const result = await autocannon({ url, headers, connections: 32, amount: REQUESTS });
      process.kill(pid, 'SIGUSR1');
      if (result.non2xx || result.errors) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      measured.set(name, bytesBy(await profileOf(pid)));
    }
  } finally {
    await sides.stop();
  }
  const bytes = { app: measured.get('app')!, peer: measured.get('peer')! };
  const kib = (b: number | undefined) => ((b ?? 0) / REQUESTS / 1024).toFixed(2);
  process.stdout.write(`\nallocated per request: app ${kib(bytes.app.total)} KiB, peer ${kib(bytes.peer.total)} KiB\n`);
  const scale = { app: 1 / REQUESTS / 1024, peer: 1 / REQUESTS / 1024 };
  printBeside('by package', 'KiB per request', { app: bytes.app.groups, peer: bytes.peer.groups }, scale, 20, 2);
  printBeside('by function', 'KiB per request', { app: bytes.app.functions, peer: bytes.peer.functions }, scale, 30, 2);
}

main().catch(err => {
  process.stderr.write(`alloc: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
