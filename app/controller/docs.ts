import { Controller } from 'egg';
import { openapiDocument, renderDocsHtml } from '../lib/openapi';

export default class DocsController extends Controller {
  /** GET /openapi.json */
  async spec(): Promise<void> {
    this.ctx.body = openapiDocument;
  }

  /** GET /docs: the description rendered as a page. */
  async page(): Promise<void> {
    this.ctx.type = 'html';
    this.ctx.body = renderDocsHtml();
  }
}
