import type { Application } from 'egg';

/** WeChat → us: the message push URL (消息推送). 404 unless the app's push Token is set. */
export default (app: Application) => {
  const { router, controller } = app;
  const push = controller.mp.wechat.push;
  router.get('wxmpPushVerify', '/api/v1/mp/wechat/push', push.verify);
  router.post('wxmpPush', '/api/v1/mp/wechat/push', push.receive);
  // One URL per mini-program when several are served (each with its own Token and EncodingAESKey);
  // the path above is the first app's.
  router.get('wxmpPushVerifyApp', '/api/v1/mp/wechat/push/:appid', push.verify);
  router.post('wxmpPushApp', '/api/v1/mp/wechat/push/:appid', push.receive);
};
