import type { Application } from 'egg';

export default (app: Application) => {
  const { router, controller } = app;
  router.get('health', '/health', controller.health.show);
};
