import type { Application } from 'egg';
import healthRoutes from './router/health';

/** Only loads the route files under app/router/. */
export default (app: Application) => {
  healthRoutes(app);
};
