// What `node:crypto` resolves to in the explorer's bundle (esbuild --alias): importing it fails,
// as in any browser, so crypto.ts falls back to @noble/* without the browser trying to load a
// script named node:crypto (which the page's Content-Security-Policy would report).
throw new Error('node:crypto is not available in a browser');
