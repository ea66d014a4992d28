import type { EggAppConfig, PowerPartial } from 'egg';
import { prodEnvProblems } from './env';

/** Production reads everything from the environment and refuses to start without it. */
export default () => {
  const problems = prodEnvProblems();
  if (problems.length) {
    throw new Error(`[config.prod] refusing to start: ${problems.join('; ')}`);
  }
  const config: PowerPartial<EggAppConfig> = {};
  return { ...config, sandbox: null };
};
