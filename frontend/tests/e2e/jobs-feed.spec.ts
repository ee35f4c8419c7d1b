import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { holdMark } from './support/mock-upstream';
import {
	deleteGalleryImages,
	heldUpstreamRequests,
	releaseUpstream,
	screenshot,
	startJob,
	unlock,
	unlockApi,
	useMockUpstream,
	watchForProblems
} from './support/panel';

/**
 * Jobs started outside the open panel (another tab, an API client) appear in it live
 * through the jobs feed, `GET /api/generate/jobs/events`, and follow their progress
 * to the end. The mock upstream holds each job's answer until the test releases it,
 * so the running state is seen for sure.
 */
test.use({ baseURL: process.env.PANEL_URL });
test.describe.configure({ mode: 'serial' });

const WORD = `feed${Date.now().toString(36)}`;
const FEED_PATH = '/api/generate/jobs/events';
const PER_JOB_STREAM = /\/api\/generate\/(?!jobs\/)[^/]+\/events$/;

function jobCard(page: Page, prompt: string) {
	return page.getByTestId('job-card').filter({ hasText: prompt });
}

async function jobStatus(request: APIRequestContext, jobId: string): Promise<string> {
	return ((await (await request.get(`/api/generate/${jobId}`)).json()) as { status: string }).status;
}

/** Every event-stream request the page makes, by path. */
function watchStreams(page: Page): string[] {
	const streams: string[] = [];
	page.on('request', (req) => {
		const path = new URL(req.url()).pathname;
		if (path.endsWith('/events')) streams.push(path);
	});
	return streams;
}

test.afterAll(async ({ playwright }) => {
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await unlockApi(request);
	await deleteGalleryImages(request, WORD);
	await request.dispose();
});

test('a job started through the API appears in the open panel, runs and finishes there live', async ({
	page,
	request
}, testInfo) => {
	const problems = watchForProblems(page);
	await useMockUpstream(request);
	const streams = watchStreams(page);
	const feedOpened = page.waitForResponse((response) => new URL(response.url()).pathname === FEED_PATH);
	await unlock(page);
	expect((await feedOpened).status()).toBe(200);

	await page.getByTestId('open-history').click();
	const drawer = page.getByRole('dialog', { name: 'Job history' });
	await expect(drawer.getByTestId('history-body')).toHaveAttribute('aria-busy', 'false');

	const hold = `${WORD}-api`;
	const prompt = `jobsfeed ${WORD} from an API client ${holdMark(hold)}`;
	const card = jobCard(page, prompt);
	const historyItem = drawer.getByTestId('history-item').filter({ hasText: prompt });
	await expect(card).toHaveCount(0);
	await expect(historyItem).toHaveCount(0);

	const jobId = await startJob(request, { prompt, n: 1 });
	await expect(historyItem).toHaveAttribute('data-status', /^(queued|running)$/);
	await expect(card).toHaveAttribute('data-status', /^(queued|running)$/);

	// The upstream has the request: the panel shows it running and waiting for the API.
	await expect.poll(() => heldUpstreamRequests(hold)).toBe(1);
	await expect(card).toHaveAttribute('data-status', 'running');
	await expect(card.getByTestId('job-status')).toHaveText('Running');
	await expect(card.locator('[aria-current="step"]')).toHaveText('Waiting for the API');
	await expect(card.getByTestId('job-message')).not.toBeEmpty();
	await expect(historyItem).toHaveAttribute('data-status', 'running');
	await screenshot(page, testInfo, 'desktop-feed-running');

	expect(await releaseUpstream(hold)).toBe(1);
	await expect(historyItem).toHaveAttribute('data-status', 'success', { timeout: 20_000 });
	await expect(card).toHaveAttribute('data-status', 'success');
	await expect(card.getByTestId('job-status')).toHaveText('Completed');
	await expect(card.getByTestId('job-images').locator('img')).toHaveCount(1);
	await page.keyboard.press('Escape');
	await expect(drawer).toBeHidden();

	// The gallery picks up the new image without a reload.
	const job = (await (await request.get(`/api/generate/${jobId}`)).json()) as { images: { image_id: string }[] };
	expect(job.images).toHaveLength(1);
	await expect(page.getByTestId('gallery').locator(`[data-gallery-id="${job.images[0]!.image_id}"]`)).toBeVisible();

	// One feed for the whole page, and no stream per job.
	expect(streams.filter((path) => path === FEED_PATH)).toHaveLength(1);
	expect(streams.filter((path) => PER_JOB_STREAM.test(path))).toEqual([]);
	expect(problems).toEqual([]);
});

test('after the feed drops, the panel says so, reconnects and shows the end it missed', async ({
	page,
	request
}) => {
	const problems = watchForProblems(page);
	await useMockUpstream(request);
	const hold = `${WORD}-drop`;
	const prompt = `jobsfeed ${WORD} finished while disconnected ${holdMark(hold)}`;
	const jobId = await startJob(request, { prompt });
	await expect.poll(() => heldUpstreamRequests(hold)).toBe(1);
	const running = await (await request.get(`/api/generate/${jobId}`)).text();

	// The first feed stream sends the running job and ends; the reconnect waits for the test.
	let feeds = 0;
	let reconnect: () => void = () => undefined;
	const reconnectAllowed = new Promise<void>((resolve) => (reconnect = resolve));
	await page.route(`**${FEED_PATH}`, async (route) => {
		feeds += 1;
		if (feeds === 1) {
			await route.fulfill({
				status: 200,
				headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' },
				body: `event: jobs\ndata: [${running}]\n\n`
			});
			return;
		}
		await reconnectAllowed;
		await route.continue();
	});

	await unlock(page);
	const card = jobCard(page, prompt);
	await expect(card).toHaveAttribute('data-status', 'running');
	await expect(card.getByText('Connection lost, reconnecting…')).toBeVisible();

	// The job ends while the panel hears nothing.
	expect(await releaseUpstream(hold)).toBe(1);
	await expect.poll(() => jobStatus(request, jobId), { timeout: 20_000 }).toBe('success');

	reconnect();
	await expect(card).toHaveAttribute('data-status', 'success');
	await expect(card.getByTestId('job-status')).toHaveText('Completed');
	await expect(card.getByText('Connection lost, reconnecting…')).toHaveCount(0);
	// The card may show the end from the REST read before the stream is back; wait for the stream.
	await expect.poll(() => feeds).toBeGreaterThanOrEqual(2);
	expect(problems).toEqual([]);
});
