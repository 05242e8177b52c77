import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { HealthBody, PkBody } from '../../src/protocol/bodies.js';
import type { ErrorCode } from '../../src/protocol/error-catalog.js';
import { classifyError, classifyResponse, classifyStatus } from '../../src/engine/classify.js';
import { errorBody } from '../fault-fleet/index.js';

/** Table-driven: the errors undici 7 and Node actually throw, and the statuses/bodies sites send. */
const sysError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('classifyError', () => {
  const cases: [string, unknown, ErrorCode][] = [
    ['undici ConnectTimeoutError', new errors.ConnectTimeoutError(), 'timeout'],
    ['undici HeadersTimeoutError', new errors.HeadersTimeoutError(), 'timeout'],
    ['undici BodyTimeoutError', new errors.BodyTimeoutError(), 'timeout'],
    ['AbortSignal.timeout reason', new DOMException('The operation timed out.', 'TimeoutError'), 'timeout'],
    ['ETIMEDOUT', sysError('ETIMEDOUT'), 'timeout'],
    ['ECONNREFUSED', sysError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'connection_refused'],
    ['EHOSTUNREACH', sysError('EHOSTUNREACH'), 'connection_refused'],
    ['ECONNRESET', sysError('ECONNRESET'), 'connection_reset'],
    ['EPIPE', sysError('EPIPE'), 'connection_reset'],
    ['undici SocketError', new errors.SocketError('other side closed'), 'connection_reset'],
    [
      'undici body shorter than Content-Length',
      new errors.ResponseContentLengthMismatchError(),
      'connection_reset',
    ],
    ['ENOTFOUND', sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND x.invalid'), 'dns_not_found'],
    ['EAI_AGAIN', sysError('EAI_AGAIN'), 'dns_not_found'],
    ['CERT_HAS_EXPIRED', sysError('CERT_HAS_EXPIRED'), 'tls_error'],
    ['CERT_NOT_YET_VALID', sysError('CERT_NOT_YET_VALID'), 'tls_error'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', sysError('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls_error'],
    ['SELF_SIGNED_CERT_IN_CHAIN', sysError('SELF_SIGNED_CERT_IN_CHAIN'), 'tls_error'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', sysError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls_error'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', sysError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'tls_error'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', sysError('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls_error'],
    [
      'ERR_SSL_WRONG_VERSION_NUMBER (https to a plain port)',
      sysError('ERR_SSL_WRONG_VERSION_NUMBER'),
      'tls_error',
    ],
    [
      'ERR_TLS_HANDSHAKE_TIMEOUT is a timeout, not a bad cert',
      sysError('ERR_TLS_HANDSHAKE_TIMEOUT'),
      'timeout',
    ],
    [
      'HTTP parser error (http to a TLS port)',
      Object.assign(new errors.HTTPParserError('Expected HTTP/'), { code: 'HPE_INVALID_CONSTANT' }),
      'unexpected_response',
    ],
    ['response larger than the cap', new errors.ResponseExceededMaxSizeError(), 'unexpected_response'],
    [
      'code found through cause',
      new Error('fetch failed', { cause: sysError('ECONNRESET') }),
      'connection_reset',
    ],
    [
      // undici's ProxyAgent: the proxy refused the CONNECT tunnel (a RequestAbortedError by class).
      'a proxy refusing the tunnel',
      new errors.RequestAbortedError('Proxy response (403) !== 200 when HTTP Tunneling'),
      'proxy_error',
    ],
    [
      'happy-eyeballs AggregateError',
      new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')], 'connect failed'),
      'connection_refused',
    ],
  ];
  it.each(cases)('%s', (_name, err, code) => {
    expect(classifyError(err)?.code).toBe(code);
  });

  it('keeps the raw code as detail, so a tls_error says which check failed', () => {
    expect(classifyError(sysError('CERT_HAS_EXPIRED'))).toEqual({
      code: 'tls_error',
      detail: 'CERT_HAS_EXPIRED',
    });
  });

  it('says what the proxy answered when it refused the tunnel', () => {
    expect(
      classifyError(new errors.RequestAbortedError('Proxy response (407) !== 200 when HTTP Tunneling')),
    ).toEqual({ code: 'proxy_error', detail: 'the proxy answered 407 to CONNECT' });
  });

  it.each([
    ['a cancellation', new errors.RequestAbortedError()],
    ['a cancellation whose message only mentions a proxy', new errors.RequestAbortedError('Proxy response')],
    ['a destroyed client', new errors.ClientDestroyedError()],
    ['a programming error', new TypeError('x is not a function')],
    ['a non-error', 'boom'],
  ])('returns null for %s, which is not a site failure', (_name, err) => {
    expect(classifyError(err)).toBeNull();
  });
});

describe('classifyResponse', () => {
  const pk = JSON.stringify({ success: true, publishable_key: 'pk_test_abc' });

  it('accepts a 2xx that is the documented body', () => {
    expect(classifyResponse(200, pk, PkBody)).toEqual({
      ok: true,
      value: { success: true, publishable_key: 'pk_test_abc' },
    });
  });

  it.each([
    ['not JSON', 'OK'],
    ['HTML', '<html><body>hi</body></html>'],
    ['JSON of another shape', '{"status":"ok"}'],
    ['empty', ''],
    ['truncated JSON', '{"success":true,'],
  ])('refuses a 2xx that is %s', (_name, body) => {
    expect(classifyResponse(200, body, PkBody)).toMatchObject({ ok: false, code: 'unexpected_response' });
  });

  const documented: [number, ErrorCode][] = [
    [401, 'invalid_api_key'],
    [400, 'invalid_secret_format'],
    [400, 'invalid_publishable_key_format'],
    [404, 'no_publishable_key'],
    [404, 'unknown_setting'],
    [429, 'too_many_attempts'],
    [502, 'stripe_auth_failed'],
    [503, 'stripe_not_configured'],
  ];
  it.each(documented)('%i with the documented JSON error %s → that code', (status, code) => {
    expect(classifyResponse(status, errorBody(code), HealthBody)).toMatchObject({ ok: false, code });
  });

  it('ignores a documented-looking code sent with a status the catalog does not give it', () => {
    expect(classifyResponse(404, errorBody('invalid_api_key'), HealthBody)).toMatchObject({
      code: 'endpoint_not_found',
    });
  });

  it('ignores an error code the catalog does not know', () => {
    const body = JSON.stringify({ success: false, error: 'teapot', message: 'short and stout' });
    expect(classifyResponse(400, body, HealthBody)).toMatchObject({
      code: 'unexpected_response',
      detail: 'teapot: short and stout',
    });
  });

  it.each([
    [404, 'endpoint_not_found'],
    [401, 'unexpected_response'],
    [403, 'unexpected_response'],
    [429, 'too_many_attempts'],
    [500, 'server_error'],
    [501, 'server_error'],
    [502, 'bad_gateway'],
    [503, 'service_unavailable'],
    [504, 'gateway_timeout'],
    [301, 'unexpected_response'],
  ] as [number, ErrorCode][])('%i with an HTML page → %s', (status, code) => {
    expect(classifyResponse(status, '<html>nope</html>', HealthBody)).toMatchObject({ ok: false, code });
    expect(classifyStatus(status)).toBe(code);
  });

  it('says where a redirect points', () => {
    expect(classifyResponse(301, '', HealthBody, 'https://new.example/')).toMatchObject({
      detail: 'redirects to https://new.example/',
    });
  });
});

describe('local resource exhaustion', () => {
  it('classifies EMFILE and ENFILE instead of letting them crash the run', () => {
    for (const code of ['EMFILE', 'ENFILE']) {
      const err = Object.assign(new Error(`connect ${code}`), { code });
      expect(classifyError(err)?.code).toBe('too_many_open_files');
    }
  });
});
