import type { Agent, IBoot } from 'egg';
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
    const { appid, push } = this.agent.config.wxmp;
    const port = this.agent.config.cluster.listen?.port ?? 7001;
    if (push.token && sandbox.wechat) {
      boot.sandboxWeChat()?.setPushTarget(appid, { url: `http://127.0.0.1:${port}/api/v1/mp/wechat/push`, token: push.token, aesKey: push.aesKey || undefined, format: 'json' });
    }
  }

  async beforeClose(): Promise<void> {
    if (!this.usesSandbox) return;
    await sandboxBoot().releaseSandbox();
  }
}
