import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import {
	deleteGalleryImages,
	origin,
	screenshot,
	startJob,
	unlock,
	unlockApi,
	useMockUpstream,
	watchForProblems
} from './support/panel';

/**
 * The history drawer pages through all persisted history, past the 100 rows it
 * used to stop at. More than 100 finished jobs are made through the API against the
 * mock upstream; history is cleared first so the oldest of them is the oldest job.
 */
test.use({ baseURL: process.env.PANEL_URL });
test.describe.configure({ mode: 'serial' });

const WORD = `hpg${Date.now().toString(36)}`;
const SEEDED = 105;
/** Fewer than the server's queue (2 running + 20 queued image units), so no request is refused. */
const BATCH = 20;
const TERMINAL = ['success', 'partial_failure', 'error', 'upstream_error', 'cancelled', 'interrupted'];

function promptOf(index: number): string {
	return `historypaging ${WORD} job ${String(index).padStart(3, '0')}`;
}

async function waitUntilFinished(request: APIRequestContext, jobIds: string[]): Promise<void> {
	await expect
		.poll(
			async () => {
				const statuses = await Promise.all(
					jobIds.map(async (id) => ((await (await request.get(`/api/generate/${id}`)).json()) as { status: string }).status)
				);
				return statuses.filter((status) => !TERMINAL.includes(status)).length;
			},
			{ timeout: 60_000, message: 'seeded jobs did not finish' }
		)
		.toBe(0);
	for (const id of jobIds) {
		const job = (await (await request.get(`/api/generate/${id}`)).json()) as { status: string };
		expect(job.status, `seeded job ${id}`).toBe('success');
	}
}

function drawerOf(page: Page) {
	return page.getByRole('dialog', { name: 'Job history' });
}

test.beforeAll(async ({ playwright }) => {
	test.setTimeout(180_000);
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await useMockUpstream(request);
	const cleared = await request.delete('/api/generate/jobs/history', { headers: origin() });
	expect(cleared.status(), await cleared.text()).toBe(200);
	// The first job alone, so it is certainly the oldest; the rest in parallel batches.
	await waitUntilFinished(request, [await startJob(request, { prompt: promptOf(0) })]);
	for (let start = 1; start < SEEDED; start += BATCH) {
		const indexes = Array.from({ length: Math.min(BATCH, SEEDED - start) }, (_, i) => start + i);
		const ids = await Promise.all(indexes.map((index) => startJob(request, { prompt: promptOf(index) })));
		await waitUntilFinished(request, ids);
	}
	await request.dispose();
});

test.afterAll(async ({ playwright }) => {
	// Leave the shared server as we found it: no history of ours, none of our images.
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await unlockApi(request);
	await request.delete('/api/generate/jobs/history', { headers: origin() });
	await deleteGalleryImages(request, WORD);
	await request.dispose();
});

test('the history drawer pages past 100 jobs to the oldest one, without repeats when a job arrives meanwhile', async ({
	page,
	request
}, testInfo) => {
	test.setTimeout(90_000);
	const problems = watchForProblems(page);
	await useMockUpstream(request);

	// Older pages wait for the test, so the loading state can be seen; their URLs are kept.
	const pageUrls: URL[] = [];
	let holdNextOlderPage = true;
	let releasePage: () => void = () => undefined;
	await page.route(/\/api\/generate\/jobs\?/, async (route) => {
		const url = new URL(route.request().url());
		if (url.searchParams.get('include_finished') === 'true') pageUrls.push(url);
		if (url.searchParams.has('before_job_id') && holdNextOlderPage) {
			holdNextOlderPage = false;
			await new Promise<void>((resolve) => (releasePage = resolve));
		}
		await route.continue();
	});

	await unlock(page);
	await page.getByTestId('open-history').click();
	const drawer = drawerOf(page);
	const items = drawer.getByTestId('history-item');
	const loadMore = drawer.getByTestId('history-load-more');
	const loadMoreReady = drawer.getByRole('button', { name: 'Load older jobs', exact: true });
	const end = drawer.getByTestId('history-end');
	await expect(loadMoreReady).toBeVisible();
	const firstPage = await items.count();
	expect(firstPage).toBeGreaterThan(0);
	expect(firstPage).toBeLessThan(SEEDED);
	await expect(items.filter({ hasText: promptOf(0) })).toHaveCount(0);
	await expect(items.first()).toContainText(WORD);

	// A job made elsewhere while the list is open lands on top, live.
	const latePrompt = `historypaging ${WORD} late arrival`;
	await startJob(request, { prompt: latePrompt });
	await expect(items.first()).toContainText(latePrompt);
	await expect(items.first()).toHaveAttribute('data-status', 'success', { timeout: 20_000 });

	// The second page is held back: the button says it is loading and cannot be pressed twice.
	await loadMore.click();
	await expect(loadMore).toBeDisabled();
	await expect(loadMore).toHaveText('Loading older jobs…');
	await expect(drawer.getByTestId('history-body')).toHaveAttribute('aria-busy', 'true');
	await screenshot(page, testInfo, 'desktop-history-loading-more');
	releasePage();
	await expect(items.nth(firstPage + 1)).toBeVisible();

	for (let round = 0; round < 10; round++) {
		await expect(end.or(loadMoreReady)).toBeVisible();
		if (await end.isVisible()) break;
		const shown = await items.count();
		await loadMore.click();
		await expect(end.or(items.nth(shown)).first()).toBeVisible();
	}
	await expect(end).toBeVisible();
	await expect(loadMore).toHaveCount(0);

	// Every job once, newest first, the oldest at the bottom.
	const total = SEEDED + 1;
	await expect(items).toHaveCount(total);
	await expect(end).toHaveText(`Start of history: all ${total} jobs are shown.`);
	const prompts = await drawer.getByTestId('history-prompt').allTextContents();
	expect(new Set(prompts).size).toBe(total);
	const expected = [latePrompt, ...Array.from({ length: SEEDED }, (_, i) => promptOf(SEEDED - 1 - i))];
	expect([...prompts].sort()).toEqual([...expected].sort());
	expect(prompts[0]).toBe(latePrompt);
	expect(prompts.at(-1)).toBe(promptOf(0));
	await items.last().scrollIntoViewIfNeeded();
	await expect(items.last()).toBeInViewport();
	await expect(items.last()).toHaveAttribute('data-status', 'success');
	await screenshot(page, testInfo, 'desktop-history-end');

	// The pages after the first asked with the seek cursor of the row above them.
	const older = pageUrls.slice(1);
	expect(older.length).toBeGreaterThanOrEqual(2);
	for (const url of older) {
		expect(url.searchParams.has('offset'), url.search).toBe(false);
		expect(url.searchParams.get('before_updated_at'), url.search).toBeTruthy();
		expect(url.searchParams.get('before_job_id'), url.search).toBeTruthy();
	}
	expect(problems).toEqual([]);
});
