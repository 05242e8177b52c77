export * from './bodies.js';
export * from './error-catalog.js';
export * from './fingerprint.js';
export * from './key-formats.js';
export * from './routes.js';
export * from './settings.js';
