/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with bracket paths
 * (`line_items[0][price_data][currency]=eur`). The fake decodes bodies the way Stripe does, into
 * nested objects, where a numeric segment makes an array. Tests can then check what the SDK sent,
 * e.g. `form.line_items[0].price_data.unit_amount === '4900'` (every leaf is a string on the wire).
 */
export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const PATH = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;
// A test fake still must not let a crafted body reach Object.prototype.
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Splits `a[b][0]` into `['a', 'b', '0']`; null when the key is not a well-formed bracket path. */
function segments(key: string): string[] | null {
  const m = PATH.exec(key);
  if (!m?.[1]) return null;
  const rest = [...(m[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1] ?? '');
  return [m[1], ...rest];
}

export function parseForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = segments(key);
    if (!path || path.some((s) => FORBIDDEN.has(s))) continue;
    let node: FormObject | FormValue[] = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] as string;
      const next = path[i + 1];
      const slot = Array.isArray(node) ? Number(seg) : seg;
      const holder = node as Record<string | number, FormValue>;
      if (next === undefined) {
        holder[slot] = value;
        break;
      }
      const wantArray = /^\d+$/.test(next);
      const existing = holder[slot];
      if (typeof existing !== 'object' || Array.isArray(existing) !== wantArray) {
        holder[slot] = wantArray ? [] : {};
      }
      node = holder[slot] as FormObject | FormValue[];
    }
  }
  return root;
}

/** Narrowing helpers for the validator: a missing or wrongly-shaped value reads as undefined. */
export function asObject(v: FormValue | undefined): FormObject | undefined {
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

export function asString(v: FormValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
