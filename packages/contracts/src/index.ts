export * from './constants.js';
export * from './error-body.js';
export * from './failures.js';
export * from './schemas.js';
