export { buildTemplateApp, type BuildTemplateAppOptions } from './app.js';
export { templatePlugin, type TemplatePluginOptions } from './plugin.js';
export { templateConfigFromEnv, type TemplateConfig } from './config.js';
