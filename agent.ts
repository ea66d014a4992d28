import type { Agent, IBoot } from 'egg';

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

  constructor(private readonly agent: Agent) {}

  async didLoad(): Promise<void> {
    const { sandbox, env, baseDir } = this.agent.config;
    if (!sandbox || env === 'prod') return;
    await sandboxBoot().acquireSandbox({ baseDir, mongo: sandbox.mongo, wechat: sandbox.wechat, log: (line: string) => this.agent.logger.info(line) });
    this.usesSandbox = true;
  }

  async beforeClose(): Promise<void> {
    if (!this.usesSandbox) return;
    await sandboxBoot().releaseSandbox();
  }
}
