import type { Application } from 'egg';

/** The internal API for the team's other backends and for ops; 404 unless INTERNAL_API_KEYS is set. */
export default (app: Application) => {
  const { router, controller } = app;
  const key = app.middleware.internalAuth();
  router.get('internalAccessToken', '/api/v1/internal/wx/access_token', key, controller.internal.wxToken.show);
  router.post('internalAccessTokenRefresh', '/api/v1/internal/wx/access_token/refresh', key,
    app.middleware.validateBody({ operationId: 'internalAccessTokenRefresh' }), controller.internal.wxToken.refresh);
  router.get('metrics', '/metrics', key, controller.internal.metrics.show);
};
