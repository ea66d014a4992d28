import type { Application } from 'egg';
import type { InternalScope } from '../../config/env';
import type { OperationId } from '../lib/openapi';

/** The internal API for the team's other backends and for ops; 404 unless INTERNAL_API_KEYS is set. */
export default (app: Application) => {
  const { router, controller } = app;
  const key = (scope: InternalScope) => app.middleware.internalAuth({ scope });
  const body = (operationId: OperationId) => app.middleware.validateBody({ operationId });
  router.get('internalAccessToken', '/api/v1/internal/wx/access_token', key('token'), controller.internal.wxToken.show);
  router.post('internalAccessTokenRefresh', '/api/v1/internal/wx/access_token/refresh', key('token'),
    app.middleware.validateBody({ operationId: 'internalAccessTokenRefresh' }), controller.internal.wxToken.refresh);
  router.get('metrics', '/metrics', key('metrics'), controller.internal.metrics.show);
  // The team's WeChat gateway: subscribe messages, mini-program codes, URL links.
  const gateway = controller.internal.gateway;
  router.post('internalSubscribeSend', '/api/v1/internal/wx/subscribe-messages', key('messages'), body('internalSubscribeSend'), gateway.subscribeSend);
  router.post('internalWxacode', '/api/v1/internal/wx/wxacode', key('messages'), body('internalWxacode'), gateway.wxacode);
  router.post('internalUrllink', '/api/v1/internal/wx/urllink', key('messages'), body('internalUrllink'), gateway.urllink);
  // The access_token in WeChat's own shape, for SDKs (WxJava, EasyWeChat, wechatpy): AppID + AppSecret, as WeChat asks.
  router.get('internalCgiToken', '/api/v1/internal/wx/cgi-bin/token', gateway.cgiToken);
  router.post('internalCgiStableToken', '/api/v1/internal/wx/cgi-bin/stable_token', gateway.cgiStableToken);
  // Support and operators: user lookup, ban, forced logout, deletion, the audit trail.
  const users = controller.internal.users;
  router.get('internalFindUsers', '/api/v1/internal/users', key('users:read'), users.find);
  router.get('internalGetUser', '/api/v1/internal/users/:uid', key('users:read'), users.show);
  router.get('internalUserEvents', '/api/v1/internal/users/:uid/events', key('users:read'), users.events);
  router.post('internalBanUser', '/api/v1/internal/users/:uid/ban', key('users:write'), body('internalBanUser'), users.ban);
  router.post('internalUnbanUser', '/api/v1/internal/users/:uid/unban', key('users:write'), body('internalUnbanUser'), users.unban);
  router.post('internalEndSessions', '/api/v1/internal/users/:uid/sessions/end', key('users:write'), body('internalEndSessions'), users.endSessions);
  router.delete('internalDeleteUser', '/api/v1/internal/users/:uid', key('users:write'), users.destroy);
};
