import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// SPA: every unknown path falls back to index.html, served by the Rust panel.
		adapter: adapter({
			pages: 'build',
			assets: 'build',
			fallback: 'index.html',
			precompress: false,
			strict: true
		}),
		appDir: '_app',
		paths: {
			// Assets are referenced as /_app/... so deep links keep working.
			relative: false
		},
		// Never inline CSS into <style> tags: the server's CSP is `style-src 'self'`.
		inlineStyleThreshold: 0,
		// No `csp` here: the server owns the Content-Security-Policy header
		// and injects a nonce into every <script> of index.html.
	}
};

export default config;
