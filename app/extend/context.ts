import type { Context, IModel } from 'egg';

export default {
  /**
   * `ctx.model`, typed. egg-mongoose types `ctx.model` as a bag of `Model<any>`; the models
   * the app defines are described by the generated `IModel`, and this is the one cast.
   */
  get models(): IModel {
    return (this as unknown as Context).model as unknown as IModel;
  },
};
