import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOG, type ErrorCode } from '../protocol/error-catalog.js';
import { maskSecrets } from '../protocol/fingerprint.js';

/**
 * Sends the contract's error body `{"success":false,"error":code,"message":…}` with the catalog's
 * status. The message is masked: it may quote input, and input may be a key.
 */
export function sendError(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  const entry = ERROR_CATALOG[code];
  return reply
    .code(entry.status ?? 500)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ success: false, error: code, message: maskSecrets(message ?? entry.message) }));
}

/**
 * The error body with the `setting` it concerns (the atomic write names which value it refused).
 * The name is echoed only when it is short and plain, so input is never reflected raw.
 */
export function sendSettingError(
  reply: FastifyReply,
  code: ErrorCode,
  setting: string,
  message?: string,
  /** The atomic write answers every refused value with 400 (DESIGN §1), whatever the code's usual status. */
  status?: number,
): FastifyReply {
  const entry = ERROR_CATALOG[code];
  // Input is reflected only when short and plain, and masked like the message (a key sent as a name).
  const name = /^[a-z0-9_]{1,64}$/.test(setting) ? maskSecrets(setting) : '(unprintable name)';
  const text = message ?? `${name}: ${entry.message}`;
  return reply
    .code(status ?? entry.status ?? 500)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ success: false, error: code, message: maskSecrets(text), setting: name }));
}

/** Fastify's own errors (body parsing, validation, limits) mapped to documented codes — never a bare 500. */
export function templateErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const first = error.validation[0];
    const where = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || 'body';
    return sendError(reply, 'invalid_request', `Invalid ${where}: ${first?.message ?? 'does not match the schema'}.`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, 'payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendError(reply, 'unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(reply, 'invalid_request', 'The JSON body is empty.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendError(reply, 'invalid_request', 'The body is not valid JSON.');
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return sendError(reply, 'invalid_request', 'The body is not valid JSON.');
  }
  if (error.statusCode === 415) return sendError(reply, 'unsupported_media_type');
  if (error.statusCode === 413) return sendError(reply, 'payload_too_large');
  request.log.error({ err: { type: error.name, message: maskSecrets(error.message), code: error.code } }, 'unhandled error');
  return sendError(reply, 'internal_error');
}
