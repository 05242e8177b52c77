import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ROUTES } from '../../protocol/routes.js';

// The page ships as static files next to the compiled code (copied by the build script).
const read = (name: string) => readFileSync(new URL(`../page/${name}`, import.meta.url), 'utf8');

/** GET / — the landing page that reads /api/stripe-pk and posts to /saas_launch_site. */
export function registerPageRoutes(app: FastifyInstance): void {
  const html = read('index.html');
  const js = read('site.js');
  const css = read('site.css');
  app.get(ROUTES.home, (_req, reply) => reply.type('text/html; charset=utf-8').send(html));
  app.get('/assets/site.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(js));
  app.get('/assets/site.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(css));
}
