import fs from 'node:fs';
import path from 'node:path';
import { Controller } from 'egg';
import { NotFoundError } from '../lib/errors';
import { openapiDocument } from '../lib/openapi';

/** swagger-ui-dist's files the page uses, served by the app itself (nothing from another host). */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wxmp-egg-backend API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * The page's Content-Security-Policy: scripts, styles, fetches and images from this host
 * only (Swagger UI keeps the bearer token of "Authorize" in localStorage, so no other
 * script may run here). Swagger UI sets style attributes and draws icons from data: URLs.
 */
const PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "connect-src 'self'", "font-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

// A file, not an inline script, so PAGE_CSP can allow scripts from 'self' only.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  displayOperationId: true,
  persistAuthorization: true,
});
`;

export default class DocsController extends Controller {
  /** GET /openapi.json: the API's description (OpenAPI 3.1). */
  async spec(): Promise<void> {
    this.ctx.body = openapiDocument;
  }

  /** GET /docs: Swagger UI on /openapi.json, with examples and "Try it out". */
  async page(): Promise<void> {
    this.ctx.type = 'html';
    this.ctx.set('content-security-policy', PAGE_CSP);
    this.ctx.body = PAGE;
  }

  /** GET /docs/:asset: Swagger UI's own files from node_modules, and its initializer. */
  async asset(): Promise<void> {
    const { asset } = this.ctx.params as { asset: string };
    if (asset === 'init.js') {
      this.ctx.type = 'application/javascript; charset=utf-8';
      this.ctx.body = INIT;
      return;
    }
    const type = ASSETS[asset];
    if (!type) throw new NotFoundError(`No such file: /docs/${asset}`);
    this.ctx.type = type;
    this.ctx.set('cache-control', 'public, max-age=86400');
    this.ctx.body = fs.createReadStream(path.join(SWAGGER_UI_DIR, asset));
  }
}
