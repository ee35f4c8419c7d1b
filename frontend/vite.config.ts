import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

export default defineConfig({
	plugins: [tailwindcss(), sveltekit()],
	build: {
		// Keep every asset a real file under /_app/ (no data: URIs needed by the CSP).
		assetsInlineLimit: 0
	},
	server: {
		// `npm run dev` proxies the API to a locally running panel (default port 8080).
		proxy: {
			'/api': process.env.PANEL_URL ?? 'http://127.0.0.1:8080',
			'/health': process.env.PANEL_URL ?? 'http://127.0.0.1:8080'
		}
	}
});
