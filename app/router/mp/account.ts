import type { Application } from 'egg';

/** 微信用户体系: the seed's routes, names and paths kept, plus `run`. Route name = OpenAPI operationId. */
export default (app: Application) => {
  const { router, controller } = app;
  const jwt = app.middleware.jwtAuth();
  const perAddress = app.middleware.rateLimit({ scope: 'login' });
  const perUser = app.middleware.rateLimit({ scope: 'user' });
  const body = app.middleware.validateBody;
  const user = controller.mp.account.user;
  // 用户登录
  router.post('wxmp', '/api/v1/mp/account/user/auth', perAddress, body({ operationId: 'wxmp' }), user.create);
  // 用户绑定手机
  router.post('wxmpBindPhone', '/api/v1/mp/account/user/bindPhone', jwt, perUser, body({ operationId: 'wxmpBindPhone' }), user.bindPhone);
  // 获取用户信息
  router.get('getUserInfo', '/api/v1/mp/account/user/info', jwt, user.show);
  // 刷新token
  router.get('refreshToken', '/api/v1/mp/account/refreshToken', jwt, user.refreshToken);
  // 检查token (no database: the token's own claims)
  router.get('session', '/api/v1/mp/account/session', jwt, user.session);
  // 微信运动步数 (the seed's getRun had no route)
  router.post('wxmpRun', '/api/v1/mp/account/user/run', jwt, perUser, body({ operationId: 'wxmpRun' }), user.run);
  // 头像昵称填写: nickname and profile fields, the avatar upload, and the avatars themselves
  router.post('wxmpProfile', '/api/v1/mp/account/user/profile', jwt, perUser, body({ operationId: 'wxmpProfile' }), user.updateProfile);
  router.post('wxmpAvatar', '/api/v1/mp/account/user/avatar', jwt, perUser, user.avatar);
  router.get('getAvatar', '/api/v1/mp/account/avatar/:id', controller.mp.account.avatar.show);
  // 注销账号
  router.delete('deleteUser', '/api/v1/mp/account/user', jwt, user.destroy);
  // 会话: logout, the user's sessions, ending one from another device, a copy of one's data
  router.post('wxmpLogout', '/api/v1/mp/account/user/logout', jwt, user.logout);
  router.get('getSessions', '/api/v1/mp/account/user/sessions', jwt, user.sessions);
  router.delete('deleteSession', '/api/v1/mp/account/user/sessions/:sid', jwt, user.endSession);
  router.get('exportUser', '/api/v1/mp/account/user/export', jwt, perUser, user.exportData);
  // 订阅消息: what the user accepted in wx.requestSubscribeMessage; the mini-program code's payload
  router.post('wxmpSubscriptions', '/api/v1/mp/account/user/subscriptions', jwt, perUser, body({ operationId: 'wxmpSubscriptions' }), user.subscriptions);
  router.get('getWxacodeScene', '/api/v1/mp/wxacode/scenes/:scene', controller.mp.wxacode.scene);
};
