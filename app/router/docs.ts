import type { Application } from 'egg';

export default (app: Application) => {
  const { router, controller } = app;
  router.get('openapi', '/openapi.json', controller.docs.spec);
  router.get('docs', '/docs', controller.docs.page);
  router.get('docsAsset', '/docs/:asset', controller.docs.asset);
};
