import { existsSync } from 'node:fs';

import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { startTestServer, type TestServer } from './support/test-server.js';

// These tests start processes or a browser, which takes several times longer on a busy CI machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** Debian's `chromium` package; playwright-core downloads no browser of its own. */
const chromiumPath = '/usr/bin/chromium';

/** Keeps the browser quiet and local: no sandbox (CI runs as root), no GPU, no background calls. */
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env['CI'] === 'true') {
  throw new Error(
    `${chromiumPath} is missing, but CI=true: .ci/run must install Debian's chromium`,
  );
}
if (!haveChromium) {
  process.stderr.write(
    `Skipping the /docs browser test: ${chromiumPath} is missing. Install it with: apt-get install -y chromium\n`,
  );
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

describe('GET /docs over HTTP', () => {
  it('serves the page with a strict content security policy', async () => {
    const response = await fetch(`${server.url}/docs`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');

    const html = await response.text();
    expect(html).toContain('<script src="/docs/swagger-ui-bundle.js"></script>');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves Swagger UI from the installed package', async () => {
    const plain = await fetch(`${server.url}/docs/swagger-ui-bundle.js`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('content-encoding')).toBeNull();
    const bundle = await plain.text();
    expect(bundle).toContain('SwaggerUIBundle');

    const css = await fetch(`${server.url}/docs/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('compresses the bundle for clients that accept gzip', async () => {
    // fetch decompresses on its own, so only the length shows which form came over the wire.
    const response = await fetch(`${server.url}/docs/swagger-ui-bundle.js`, {
      headers: { 'accept-encoding': 'gzip' },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('vary')).toBe('accept-encoding');
    expect(Number(response.headers.get('content-length'))).toBeLessThan(1_000_000);
    expect(await response.text()).toContain('SwaggerUIBundle');
  });

  it('points the page at /openapi.json without the public validator', async () => {
    const response = await fetch(`${server.url}/docs/initialize.js`);
    const script = await response.text();

    expect(response.status).toBe(200);
    expect(script).toContain("url: '/openapi.json'");
    expect(script).toContain('validatorUrl: null');
  });

  it('answers 404 for any other file under /docs', async () => {
    for (const file of ['index.html', 'swagger-ui.js.map', 'package.json', '..%2Fpackage.json']) {
      const response = await fetch(`${server.url}/docs/${file}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ status: 'Not Found', code: 404 });
    }
  });

  it('redirects /docs/ to /docs', async () => {
    const response = await fetch(`${server.url}/docs/`, { redirect: 'manual' });

    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('/docs');
  });
});

describe.skipIf(!haveChromium)(`GET /docs in Chromium (skipped without ${chromiumPath})`, () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the refresh operation and calls it with a pasted token', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { responses: Record<string, unknown> } }>;
    };
    const documentedStatuses = Object.keys(document.paths['/v1/token']?.get.responses ?? {});
    expect(documentedStatuses).toContain('201');
    expect(documentedStatuses).toEqual(expect.arrayContaining(['400', '401', '403', '503']));

    const user = await server.addUser({ scopes: ['read'] });
    const token = await server.issueToken(user.id);

    const page = await browser.newPage();
    const otherOrigins: string[] = [];
    const pageErrors: string[] = [];
    // Anything not served by this server is recorded and blocked: the page needs no CDN.
    await page.route(
      (url) => url.origin !== server.url,
      async (route) => {
        otherOrigins.push(route.request().url());
        await route.abort();
      },
    );
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });

    try {
      await page.goto(`${server.url}/docs`);
      const operation = page.locator('.opblock-get', { hasText: '/v1/token' });
      await operation.waitFor({ timeout: 15_000 });
      expect(await operation.locator('.opblock-summary-method').textContent()).toBe('GET');

      await operation.locator('.opblock-summary-control').click();
      const statusCells = operation.locator(
        '.responses-table:not(.live-responses-table) tr.response > td.response-col_status',
      );
      await statusCells.first().waitFor();
      const shownStatuses = (await statusCells.allTextContents()).map((text) => text.trim());
      expect(shownStatuses).toEqual(documentedStatuses);
      await expect(
        operation.locator('tr.response[data-code="201"]').textContent(),
      ).resolves.toContain('Token successfully created');
      await expect(
        operation.locator('tr.response[data-code="403"]').textContent(),
      ).resolves.toContain('The user is locked');

      await page.locator('button.authorize').first().click();
      const dialog = page.locator('.modal-ux');
      await dialog.locator('input').first().fill(token);
      await dialog.locator('button.authorize').click();
      await dialog.locator('button.btn-done').click();

      await operation.locator('button.try-out__btn').click();
      await operation.locator('button.execute').click();
      const liveStatus = operation.locator(
        '.live-responses-table tr.response td.response-col_status',
      );
      await liveStatus.waitFor({ timeout: 15_000 });
      expect((await liveStatus.textContent())?.trim()).toBe('201');
      const liveBody = await operation
        .locator('.live-responses-table .response-col_description pre')
        .first()
        .textContent();
      expect(JSON.parse(liveBody ?? '{}')).toEqual({
        token: expect.any(String),
        expires: server.clock.seconds() + server.config.tokenLifetimeSeconds,
      });

      const refreshLog = server.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line['url'] === '/v1/token' && line['userId'] === user.id);
      expect(refreshLog?.['status']).toBe(201);
      expect(otherOrigins).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
