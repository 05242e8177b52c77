// Copies the non-TypeScript files under src/ (HTML, CSS, browser JS) into dist/ after tsc.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSET = /\.(html|css|js|svg)$/;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (ASSET.test(name) && !name.endsWith('.d.ts')) cpSync(path, join('dist', relative('src', path)));
  }
}
walk('src');
