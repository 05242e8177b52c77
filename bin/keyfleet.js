#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('keyfleet is not built yet: run `npm install` (or `npm run build`) first.\n');
    process.exit(2);
  }
  throw err;
});
