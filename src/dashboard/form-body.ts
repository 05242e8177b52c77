/**
 * An `application/x-www-form-urlencoded` body (the web UI's plain forms) as an object: a field given
 * once is a string, a repeated field (`tags=a&tags=b`) an array. The route's zod schema does the rest.
 *
 * @example parseForm('url=https%3A%2F%2Fshop.example.fr&tags=eu&tags=prod') // { url: 'https://shop.example.fr', tags: ['eu', 'prod'] }
 */
export function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(body)) {
    const seen = out[key];
    if (seen === undefined) out[key] = value;
    else out[key] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
