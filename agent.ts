import type { Agent, IBoot } from 'egg';
import { configuredApps } from './app/lib/apps';
import { agentMetrics } from './app/lib/metrics_cluster';
import { hideSecretsFromConfigDump } from './config/dump';

type SandboxBoot = typeof import('./sandbox/boot');

/** Required lazily: prod never reaches this, and the compiled build does not contain sandbox/. */
function sandboxBoot(): SandboxBoot {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require('./sandbox/boot') as SandboxBoot;
}

/**
 * The agent boots before any worker (and, under egg-mock, before the application's config
 * is read), so it is where the dev/test stand-ins start. The sandbox module is required
 * lazily and only when config.sandbox asks, which prod never does.
 */
export default class AgentBootHook implements IBoot {
  private usesSandbox = false;

  constructor(private readonly agent: Agent) {
    agentMetrics(agent);
  }

  configWillLoad(): void {
    hideSecretsFromConfigDump(this.agent.config.dump.ignore);
  }

  async didLoad(): Promise<void> {
    const { sandbox, env, baseDir } = this.agent.config;
    if (!sandbox || env === 'prod') return;
    const boot = sandboxBoot();
    await boot.acquireSandbox({ baseDir, mongo: sandbox.mongo, wechat: sandbox.wechat, log: (line: string) => this.agent.logger.info(line) });
    this.usesSandbox = true;
    // The whole push loop on a laptop: the double pushes to this app as the console says.
    const port = this.agent.config.cluster.listen?.port ?? 7001;
    const apps = configuredApps(this.agent.config.wxmp);
    for (const [ i, { appid, push }] of apps.entries()) {
      // The first app's URL is the one-app path; each other app has its own.
      const url = `http://127.0.0.1:${port}/api/v1/mp/wechat/push${i === 0 ? '' : `/${appid}`}`;
      if (push.token && sandbox.wechat) boot.sandboxWeChat()?.setPushTarget(appid, { url, token: push.token, aesKey: push.aesKey || undefined, format: 'json' });
    }
  }

  async beforeClose(): Promise<void> {
    if (!this.usesSandbox) return;
    await sandboxBoot().releaseSandbox();
  }
}
