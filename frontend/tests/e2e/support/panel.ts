import path from 'node:path';
import { expect, type APIRequestContext, type Page, type TestInfo } from '@playwright/test';

/** Shared steps for the browser tests. They all talk to the real panel server. */
export const ACCESS_KEY = 'e2e-secret-key';

export function mockUpstreamUrl(): string {
	const url = process.env.MOCK_UPSTREAM_URL;
	if (!url) throw new Error('MOCK_UPSTREAM_URL is not set (global setup starts the mock upstream)');
	return url;
}

/** Collect page errors and CSP refusals; a test asserts the list stays empty. */
export function watchForProblems(page: Page): string[] {
	const problems: string[] = [];
	page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
	page.on('console', (message) => {
		const text = message.text();
		if (/Content[- ]Security[- ]Policy|Refused to/i.test(text)) problems.push(`csp: ${text}`);
	});
	return problems;
}

/** Open the panel and unlock it through the access gate, as a user would. */
export async function unlock(page: Page): Promise<void> {
	await page.goto('/');
	await page.getByLabel('Access key').fill(ACCESS_KEY);
	await page.getByRole('button', { name: 'Unlock' }).click();
	await expect(page.getByTestId('open-settings')).toBeVisible();
}

/** Unlock an API request context (shares no cookies with pages). */
export async function unlockApi(request: APIRequestContext): Promise<void> {
	const baseURL = process.env.PANEL_URL ?? '';
	const response = await request.post('/api/access', {
		data: { access_key: ACCESS_KEY },
		headers: { origin: baseURL }
	});
	expect(response.status()).toBe(200);
}

/**
 * Point the active preset at the mock upstream through the API (for tests whose
 * subject is not the settings drawer itself).
 */
export async function useMockUpstream(request: APIRequestContext): Promise<void> {
	await unlockApi(request);
	const response = await request.post('/api/settings', {
		data: {
			api_url: `${mockUpstreamUrl()}/v1`,
			api_key: 'sk-e2e-mock-key',
			api_path: '/v1/images/generations',
			default_model: 'gpt-image-1'
		},
		headers: { origin: process.env.PANEL_URL ?? '' }
	});
	expect(response.status(), await response.text()).toBe(200);
}

/** Save a screenshot under frontend/test-results/ (an artifact, never committed). */
export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
	await page.screenshot({ path: path.join(testInfo.project.outputDir, `${name}.png`), fullPage: true });
}

const TERMINAL = ['success', 'partial_failure', 'error', 'upstream_error', 'cancelled', 'interrupted'];

/** The header that passes the panel's CSRF check for API calls from the tests. */
export function origin(): Record<string, string> {
	return { origin: process.env.PANEL_URL ?? '' };
}

/** Starts a generation through the API and waits for it to succeed. */
export async function generate(request: APIRequestContext, body: Record<string, unknown>): Promise<void> {
	const response = await request.post('/api/generate', { data: body, headers: origin() });
	expect(response.status(), await response.text()).toBe(202);
	const { job_id: jobId } = (await response.json()) as { job_id: string };
	let status = '';
	await expect
		.poll(
			async () => {
				const job = await request.get(`/api/generate/${jobId}`);
				status = ((await job.json()) as { status: string }).status;
				return TERMINAL.includes(status);
			},
			{ timeout: 20_000 }
		)
		.toBe(true);
	expect(status).toBe('success');
}

/** Starts a job through the API (as another tab or an API client would) and returns its id at once. */
export async function startJob(request: APIRequestContext, body: Record<string, unknown>): Promise<string> {
	const response = await request.post('/api/generate', { data: body, headers: origin() });
	expect(response.status(), await response.text()).toBe(202);
	return ((await response.json()) as { job_id: string }).job_id;
}

/** How many upstream requests the mock keeps back for `name` (see holdMark). */
export async function heldUpstreamRequests(name: string): Promise<number> {
	const response = await fetch(`${mockUpstreamUrl()}/__held/${encodeURIComponent(name)}`);
	expect(response.status).toBe(200);
	return ((await response.json()) as { held: number }).held;
}

/** Lets the mock answer every request held for `name`; returns how many it answered. */
export async function releaseUpstream(name: string): Promise<number> {
	const response = await fetch(`${mockUpstreamUrl()}/__release/${encodeURIComponent(name)}`, { method: 'POST' });
	expect(response.status).toBe(200);
	return ((await response.json()) as { released: number }).released;
}

/** Deletes every gallery image whose prompt contains `word` (a spec's own images). */
export async function deleteGalleryImages(request: APIRequestContext, word: string): Promise<void> {
	for (let round = 0; ; round++) {
		expect(round, `images matching ${word} are still there after ${round} batch deletes`).toBeLessThan(50);
		const found = await request.get(`/api/gallery?prompt=${encodeURIComponent(word)}&page_size=100`);
		expect(found.ok(), await found.text()).toBe(true);
		const ids = ((await found.json()) as { images: { id: string }[] }).images.map((image) => image.id);
		if (ids.length === 0) return;
		const deleted = await request.post('/api/gallery/batch/delete', { data: { ids }, headers: origin() });
		expect(deleted.ok(), await deleted.text()).toBe(true);
	}
}
