import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue 13: the layers of src stay layers. Nothing outside src/cli imports src/cli (the CLI sits on
 * top: it may import every other layer, none may import it), and no module of src reaches itself
 * again through its imports. Every relative specifier counts: `import`, `import type`, `export … from`,
 * side-effect imports and dynamic `import('…')`.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const CLI = join(SRC, 'cli');

const STATIC =
  /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)?\s*from\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT = /^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative specifiers a module's text imports or re-exports. */
function relativeSpecifiers(text: string): string[] {
  const found = [STATIC, SIDE_EFFECT, DYNAMIC].flatMap((pattern) =>
    [...text.matchAll(pattern)].map((m) => m[1] ?? ''),
  );
  return found.filter((spec) => spec.startsWith('.'));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const show = (path: string) => relative(ROOT, path);

/** Each module of src and the modules of src it imports; a specifier that names no file fails the test. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(SRC)) {
    const targets = relativeSpecifiers(readFileSync(file, 'utf8')).map((spec) => {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (!existsSync(target)) throw new Error(`${show(file)}: '${spec}' names no module of src`);
      return target;
    });
    graph.set(file, [...new Set(targets.filter((t) => t.endsWith('.ts')))]);
  }
  return graph;
}

/** Every import that closes a cycle, as the cycle it closes: `a.ts -> b.ts -> a.ts`. */
function cycles(graph: Map<string, string[]>): string[] {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const found: string[] = [];
  const visit = (file: string) => {
    path.push(file);
    onPath.add(file);
    for (const target of graph.get(file) ?? []) {
      if (onPath.has(target))
        found.push([...path.slice(path.indexOf(target)), target].map(show).join(' -> '));
      else if (!done.has(target)) visit(target);
    }
    path.pop();
    onPath.delete(file);
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return found;
}

describe('the layers of src', () => {
  const graph = importGraph();

  it('reads every kind of relative import', () => {
    const text = [
      "import { a,\n  b } from './multi-line.js';",
      "import type { T } from '../type-only.js';",
      "import d, { e } from './default-and-named.js';",
      "import * as ns from './namespace.js';",
      "export { f } from './re-export.js';",
      "export type { G } from './type-re-export.js';",
      "export * from './star.js';",
      "import './side-effect.js';",
      "const lazy = await import('./dynamic.js');",
      "import { z } from 'zod';",
      ' * an example in a comment: import { x } from "./not-an-import.js"',
    ].join('\n');
    expect(relativeSpecifiers(text).sort()).toEqual(
      [
        './multi-line.js',
        '../type-only.js',
        './default-and-named.js',
        './namespace.js',
        './re-export.js',
        './type-re-export.js',
        './star.js',
        './side-effect.js',
        './dynamic.js',
      ].sort(),
    );
  });

  it('nothing outside src/cli imports a module of src/cli', () => {
    const offending = [...graph].flatMap(([file, targets]) =>
      file.startsWith(`${CLI}${sep}`)
        ? []
        : targets.filter((t) => t.startsWith(`${CLI}${sep}`)).map((t) => `${show(file)} imports ${show(t)}`),
    );
    expect(offending, 'move what both need to a layer below src/cli').toEqual([]);
  });

  it('no module of src imports itself back, directly or through others', () => {
    const found = cycles(graph);
    expect(found, `import cycles:\n${found.join('\n')}`).toEqual([]);
  });
});
