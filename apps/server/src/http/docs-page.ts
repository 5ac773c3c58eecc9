import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** A file of the reference page, kept in memory once read. */
interface Asset {
  type: string;
  body: Buffer;
  /** Present when compressing saves space (scripts and styles). */
  gzipped: Buffer | undefined;
}

/** Files served from the installed swagger-ui-dist package, by name under /docs/. */
const packageFiles: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const pageHtml = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tarkov Database token API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/initialize.js"></script>
</body>
</html>
`;

// A separate file rather than an inline script, so the page's CSP can forbid inline scripts.
// validatorUrl null keeps Swagger UI from sending the document to its public validator.
const initializeScript = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  supportedSubmitMethods: ['get'],
});
`;

/**
 * Only this server's own files and the same-origin calls of "Try it out". Swagger UI sets
 * inline styles and uses data: URLs for icons, so those two are allowed.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const servedFiles = new Set([...Object.keys(packageFiles), 'initialize.js']);

const assets = new Map<string, Asset>();

/**
 * Registers the API reference page at `/docs`: Swagger UI from the installed swagger-ui-dist
 * package, rendering `/openapi.json`. Nothing is loaded from another origin.
 */
export function registerDocsPage(app: FastifyInstance): void {
  app.get('/docs', async (request, reply) => sendAsset(request, reply, 'index.html'));
  app.get('/docs/', async (_request, reply) => reply.redirect('/docs', 301));
  app.get('/docs/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    if (!servedFiles.has(file)) return reply.callNotFound();
    return sendAsset(request, reply, file);
  });
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, name: string): FastifyReply {
  const asset = loadAsset(name);
  reply
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=3600')
    .type(asset.type);

  if (asset.gzipped === undefined) return reply.send(asset.body);
  reply.header('vary', 'accept-encoding');
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
    return reply.header('content-encoding', 'gzip').send(asset.gzipped);
  }
  return reply.send(asset.body);
}

/** Reads (and compresses) a file at its first request, so a server that never serves /docs pays nothing. */
function loadAsset(name: string): Asset {
  const cached = assets.get(name);
  if (cached !== undefined) return cached;

  let asset: Asset;
  if (name === 'index.html') {
    asset = { type: 'text/html; charset=utf-8', body: Buffer.from(pageHtml), gzipped: undefined };
  } else if (name === 'initialize.js') {
    asset = {
      type: 'text/javascript; charset=utf-8',
      body: Buffer.from(initializeScript),
      gzipped: undefined,
    };
  } else {
    const type = packageFiles[name] as string;
    const body = readFileSync(path.join(swaggerUiFolder(), name));
    asset = { type, body, gzipped: type.startsWith('image/') ? undefined : gzipSync(body) };
  }
  assets.set(name, asset);
  return asset;
}

function swaggerUiFolder(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}
