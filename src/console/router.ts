/**
 * The web console at /console: static files only, served by the gateway itself (same origin, no extra server,
 * no build step). The page holds no data: it signs in with an API token the user pastes (kept in the tab's
 * sessionStorage, sent as a bearer header, never in a URL) and reads the same API every client reads, so roles
 * and tenant scoping are the API's own. Mounted BEFORE authentication: a browser cannot send a bearer header
 * when it navigates, and nothing served here is tenant data.
 *
 * Libraries are served as ES modules straight from node_modules (only their dist folders), wired by an import
 * map: Preact + htm for components, Chart.js for charts. A strict Content-Security-Policy allows scripts from
 * this origin and the one inline import map (by its hash), nothing else.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';

const webDir = path.join(import.meta.dirname, 'web');
const require = createRequire(import.meta.url);

/** The folder of an installed package (some packages export no ./package.json, so walk up from its entry). */
function packageDir(name: string, from = require): string {
  let dir = path.dirname(from.resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = parent;
  }
  return dir;
}

/** URL prefix → folder served under /console/vendor. */
const vendorFolders: ReadonlyArray<readonly [string, string]> = [
  ['preact/dist', path.join(packageDir('preact'), 'dist')],
  ['preact/hooks/dist', path.join(packageDir('preact'), 'hooks', 'dist')],
  ['htm/dist', path.join(packageDir('htm'), 'dist')],
  ['chart.js/dist', path.join(packageDir('chart.js'), 'dist')],
  // Chart.js's own dependency, resolved from Chart.js's folder.
  [
    '@kurkle/color/dist',
    path.join(packageDir('@kurkle/color', createRequire(path.join(packageDir('chart.js'), 'x'))), 'dist'),
  ],
];

const importMap = JSON.stringify({
  imports: {
    preact: '/console/vendor/preact/dist/preact.mjs',
    'preact/hooks': '/console/vendor/preact/hooks/dist/hooks.mjs',
    htm: '/console/vendor/htm/dist/htm.mjs',
    'chart.js': '/console/vendor/chart.js/dist/chart.js',
    '@kurkle/color': '/console/vendor/@kurkle/color/dist/color.esm.js',
  },
});

function contentSecurityPolicy(inlineScript: string): string {
  const hash = createHash('sha256').update(inlineScript).digest('base64');
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function consoleRouter(): express.Router {
  const router = express.Router();
  const page = readFileSync(path.join(webDir, 'index.html'), 'utf8').replace('{ "imports": {} }', importMap);
  const csp = contentSecurityPolicy(importMap);
  const secure = (_req: express.Request, res: express.Response, next: express.NextFunction) => {
    res.setHeader('content-security-policy', csp);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    next();
  };
  router.get(['/console', '/console/'], secure, (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.type('html').send(page);
  });
  const files = { index: false, dotfiles: 'deny' as const, maxAge: '5m' };
  router.use('/console/app', secure, express.static(webDir, files));
  for (const [prefix, dir] of vendorFolders)
    router.use(`/console/vendor/${prefix}`, secure, express.static(dir, { ...files, maxAge: '1h' }));
  // Anything else under /console is a missing file, not an API call that needs a token.
  router.use(['/console/app', '/console/vendor'], (_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });
  return router;
}
