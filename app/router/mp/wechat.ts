import type { Application } from 'egg';

/** WeChat → us: the message push URL (消息推送). 404 unless WXMP_PUSH_TOKEN is set. */
export default (app: Application) => {
  const { router, controller } = app;
  const push = controller.mp.wechat.push;
  router.get('wxmpPushVerify', '/api/v1/mp/wechat/push', push.verify);
  router.post('wxmpPush', '/api/v1/mp/wechat/push', push.receive);
};
