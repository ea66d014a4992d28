import type { Application } from 'egg';
import docsRoutes from './router/docs';
import healthRoutes from './router/health';
import internalRoutes from './router/internal';
import mpAccountRoutes from './router/mp/account';
import mpWechatRoutes from './router/mp/wechat';

/** Only loads the route files under app/router/. */
export default (app: Application) => {
  healthRoutes(app);
  docsRoutes(app);
  mpAccountRoutes(app);
  mpWechatRoutes(app);
  internalRoutes(app);
};
