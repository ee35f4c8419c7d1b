import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests against the REAL panel server.
 *
 *   PANEL_BIN=../target/release/gpt-image-panel npm run test:e2e
 *
 * globalSetup starts the binary on a free loopback port with a throw-away data
 * directory and exports its address as PANEL_URL; globalTeardown stops it.
 * Browser: Debian's /usr/bin/chromium (apt-get install chromium); never download one.
 */
export default defineConfig({
	testDir: './tests/e2e',
	// A separate folder per concurrent run (E2E_OUTPUT_DIR); CI uses the default.
	outputDir: process.env.E2E_OUTPUT_DIR ?? 'test-results',
	globalSetup: './tests/e2e/global-setup.ts',
	globalTeardown: './tests/e2e/global-teardown.ts',
	fullyParallel: false,
	workers: 1,
	retries: 0,
	forbidOnly: !!process.env.CI,
	timeout: 30_000,
	expect: { timeout: 10_000 },
	reporter: 'list',
	use: {
		// Set by globalSetup; workers inherit it.
		baseURL: process.env.PANEL_URL,
		headless: true,
		viewport: { width: 1280, height: 800 },
		trace: 'off',
		screenshot: 'only-on-failure',
		launchOptions: {
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync'
			]
		}
	},
	projects: [{ name: 'chromium' }]
});
