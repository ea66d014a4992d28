import crypto from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import type { Agent, Application } from 'egg';
import { registry } from './metrics';

/**
 * `/metrics` with the numbers of all workers together. egg-cluster's master is not ours to
 * extend, so prom-client's cluster helper cannot be used as is; instead the agent collects:
 * the worker serving /metrics asks the agent, the agent asks every worker for its
 * `getMetricsAsJSON()`, merges them with AggregatorRegistry.aggregate() once all the workers
 * egg-cluster lists have answered (or after a second), and answers.
 */
const COLLECT = 'metrics:collect';
const REPORT = 'metrics:report';
const REQUEST = 'metrics:request';
const RESULT = 'metrics:result';
const WAIT_MS = 1000;

/** One worker's metrics, as `getMetricsAsJSON()` gives them. */
type WorkerMetrics = Awaited<ReturnType<typeof registry.getMetricsAsJSON>>;

interface Report {
  id: string;
  metrics: WorkerMetrics;
}

/** Worker side: answers the agent's collection rounds; `collect()` runs one. */
export function workerMetrics(app: Application): { collect(): Promise<string> } {
  const waiting: Map<string, (text: string) => void> = new Map();
  app.messenger.on(COLLECT, async ({ id }: { id: string }) => {
    app.messenger.sendToAgent(REPORT, { id, metrics: await registry.getMetricsAsJSON() } satisfies Report);
  });
  app.messenger.on(RESULT, ({ id, text }: { id: string; text: string }) => {
    waiting.get(id)?.(text);
    waiting.delete(id);
  });
  return {
    collect() {
      const id = crypto.randomUUID();
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('metrics: the agent did not answer'));
        }, WAIT_MS * 3);
        waiting.set(id, text => {
          clearTimeout(timer);
          resolve(text);
        });
        app.messenger.sendToAgent(REQUEST, { id });
      });
    },
  };
}

/** Agent side: runs the collection rounds. */
export function agentMetrics(agent: Agent): void {
  let workers: number | undefined;
  agent.messenger.on('egg-pids', (ids: number[]) => {
    workers = ids.length;
  });
  const rounds = new Map<string, { reports: WorkerMetrics[]; done:() => void }>();
  agent.messenger.on(REPORT, ({ id, metrics }: Report) => {
    const round = rounds.get(id);
    if (!round) return;
    round.reports.push(metrics);
    if (workers !== undefined && round.reports.length >= workers) round.done();
  });
  agent.messenger.on(REQUEST, ({ id }: { id: string }) => {
    const reports: WorkerMetrics[] = [];
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      rounds.delete(id);
      AggregatorRegistry.aggregate(reports).metrics().then(
        text => agent.messenger.sendToApp(RESULT, { id, text }),
        (err: Error) => agent.logger.error('[metrics] merge failed: %s', err.message),
      );
    };
    timer = setTimeout(done, WAIT_MS);
    rounds.set(id, { reports, done });
    agent.messenger.sendToApp(COLLECT, { id });
  });
}
