import { Service } from 'egg';
import type { WxmpConfig } from '../../../config/config.default';

/** Base of the mini-program services: carries the app's WeChat settings, as in the seed. */
export default class WxmpIndexService extends Service {
  protected get WXAuth(): WxmpConfig {
    return this.config.wxmp;
  }
}
