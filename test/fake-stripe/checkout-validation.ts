import { asObject, asString, type FormObject, type FormValue } from './form.js';
import { MESSAGES, type StripeErrorFields } from './stripe-shapes.js';

/**
 * The checks Stripe applies to POST /v1/checkout/sessions that our template site can trip over, in
 * the order Stripe reports them (first problem only, with `param` naming the exact form path). It is
 * deliberately partial: hosted mode, one-off prices, `price` or inline `price_data`.
 */
export interface KnownPrice {
  unit_amount: number;
  currency: string;
}

export interface ValidCheckout {
  mode: string;
  successUrl: string;
  cancelUrl: string | null;
  customerEmail: string | null;
  metadata: Record<string, string>;
  currency: string | null;
  amountTotal: number | null;
}

type Result = { ok: true; value: ValidCheckout } | { ok: false; error: StripeErrorFields };

// Real create parameters: anything else is `parameter_unknown`, which catches a typo such as `success_uri`.
const KNOWN_PARAMS = new Set([
  'mode',
  'line_items',
  'success_url',
  'cancel_url',
  'metadata',
  'customer_email',
  'customer',
  'client_reference_id',
  'payment_method_types',
  'expand',
  'ui_mode',
  'locale',
  'allow_promotion_codes',
  'billing_address_collection',
  'payment_intent_data',
  'submit_type',
  'expires_at',
  'currency',
]);
const MODES = ['payment', 'setup', 'subscription'];

class Invalid extends Error {
  constructor(readonly fields: StripeErrorFields) {
    super(fields.message);
  }
}

const invalid = (message: string, param: string, code?: string): never => {
  throw new Invalid({ type: 'invalid_request_error', message, param, ...(code ? { code } : {}) });
};

/** A required string: absent is `parameter_missing`, empty is `parameter_invalid_empty`. */
function required(obj: FormObject | undefined, key: string, param: string): string {
  const v = asString(obj?.[key]);
  if (v === undefined) return invalid(MESSAGES.missingParam(param), param, 'parameter_missing');
  if (v === '') return invalid(MESSAGES.emptyParam(param), param, 'parameter_invalid_empty');
  return v;
}

function url(value: string, param: string): string {
  if (!URL.canParse(value) || !/^https?:/i.test(value)) invalid('Not a valid URL', param, 'url_invalid');
  return value;
}

function integer(value: string, param: string): number {
  if (!/^\d+$/.test(value)) invalid(`Invalid integer: ${value}`, param, 'parameter_invalid_integer');
  return Number(value);
}

function metadata(v: FormValue | undefined): Record<string, string> {
  if (v === undefined) return {};
  const obj = asObject(v);
  if (!obj) return invalid('Invalid object', 'metadata');
  const entries = Object.entries(obj);
  if (entries.length > 50) invalid('Metadata can have up to 50 keys, but you passed in more.', 'metadata');
  const out: Record<string, string> = {};
  for (const [k, raw] of entries) {
    const value = asString(raw);
    if (value === undefined) return invalid('Invalid string', `metadata[${k}]`);
    if (k.length > 40)
      invalid(`Metadata keys can have up to 40 characters, but '${k}' is longer.`, `metadata[${k}]`);
    if (value.length > 500) {
      invalid(
        `Metadata values can have up to 500 characters, but you passed in a value that is ${value.length} characters long.`,
        `metadata[${k}]`,
      );
    }
    out[k] = value;
  }
  return out;
}

/** One line item; returns what it adds to the total (null when it brings no known price). */
function lineItem(item: FormObject, i: number, prices: ReadonlyMap<string, KnownPrice>) {
  const at = `line_items[${i}]`;
  if (item.price !== undefined && item.price_data !== undefined) {
    invalid('You may only specify one of these parameters: price, price_data.', at, 'parameters_exclusive');
  }
  const quantity = integer(required(item, 'quantity', `${at}[quantity]`), `${at}[quantity]`);
  if (item.price !== undefined) {
    const id = required(item, 'price', `${at}[price]`);
    const known = prices.get(id);
    if (!known) return invalid(`No such price: '${id}'`, `${at}[price]`, 'resource_missing');
    return { currency: known.currency, amount: known.unit_amount * quantity };
  }
  const data = asObject(item.price_data);
  if (!data)
    return invalid('You must provide either price or price_data for each line item when using prices.', at);
  const currency = required(data, 'currency', `${at}[price_data][currency]`).toLowerCase();
  const unit = integer(
    required(data, 'unit_amount', `${at}[price_data][unit_amount]`),
    `${at}[price_data][unit_amount]`,
  );
  if (data.product === undefined)
    required(asObject(data.product_data), 'name', `${at}[price_data][product_data][name]`);
  return { currency, amount: unit * quantity };
}

export function validateCheckout(form: FormObject, prices: ReadonlyMap<string, KnownPrice>): Result {
  try {
    for (const key of Object.keys(form)) {
      if (!KNOWN_PARAMS.has(key)) invalid(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
    }
    const mode = required(form, 'mode', 'mode');
    if (!MODES.includes(mode))
      invalid('Invalid mode: must be one of payment, setup, or subscription', 'mode');
    const successUrl = url(required(form, 'success_url', 'success_url'), 'success_url');
    const cancelUrl =
      form.cancel_url === undefined ? null : url(required(form, 'cancel_url', 'cancel_url'), 'cancel_url');
    const email = asString(form.customer_email) ?? null;
    if (email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      invalid(`Invalid email address: ${email}`, 'customer_email', 'email_invalid');
    }
    const items = form.line_items;
    if (mode !== 'setup' && (!Array.isArray(items) || items.length === 0)) {
      invalid(MESSAGES.missingParam('line_items'), 'line_items', 'parameter_missing');
    }
    let currency: string | null = null;
    let amountTotal: number | null = null;
    (Array.isArray(items) ? items : []).forEach((raw, i) => {
      const item = asObject(raw) ?? invalid('Invalid object', `line_items[${i}]`);
      const { currency: c, amount } = lineItem(item, i, prices);
      currency ??= c;
      amountTotal = (amountTotal ?? 0) + amount;
    });
    const value = {
      mode,
      successUrl,
      cancelUrl,
      customerEmail: email,
      metadata: metadata(form.metadata),
      currency,
      amountTotal,
    };
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.fields };
    throw err;
  }
}
