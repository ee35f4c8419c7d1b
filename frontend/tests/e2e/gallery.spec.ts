import path from 'node:path';
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import {
	generate,
	origin,
	screenshot,
	unlock,
	unlockApi,
	useMockUpstream,
	watchForProblems
} from './support/panel';

/**
 * The gallery against the real server. Images are seeded through the real API
 * (generate → mock upstream); every test narrows the grid with this run's unique
 * word, so other specs sharing the server do not disturb it.
 */
test.use({ baseURL: process.env.PANEL_URL });
test.describe.configure({ mode: 'serial' });

const RUN = `gal${Date.now().toString(36)}`;
const PROMPT_A = `gallerytest ${RUN} amber lighthouse`;
const PROMPT_ZH = `gallerytest ${RUN} 青色的山峦 画卷`;
const PROMPT_C = `gallerytest ${RUN} violet orchard`;
/** A second word for the pagination set, so it stays out of the RUN-filtered tests. */
const PAGES_WORD = `pgs${RUN.slice(3)}`;
const ALT_MODEL = `e2e-alt-model-${RUN}`;
const ALT_PRESET = `E2E Gallery ${RUN}`;

function localDay(offsetDays = 0): string {
	const d = new Date();
	d.setDate(d.getDate() + offsetDays);
	const pad = (n: number) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function gallery(page: Page): Locator {
	return page.getByTestId('gallery');
}

function items(page: Page): Locator {
	return gallery(page).getByTestId('gallery-item');
}

async function openRun(page: Page): Promise<void> {
	await unlock(page);
	await page.goto(`/?q=${RUN}`);
	await expect(gallery(page)).toBeVisible();
}

test.beforeAll(async ({ playwright }) => {
	test.setTimeout(90_000);
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await useMockUpstream(request);
	await generate(request, { prompt: PROMPT_A, n: 2, size: '1024x1024', quality: 'low', output_format: 'png' });
	await generate(request, { prompt: PROMPT_ZH, n: 1, size: '1536x1024', quality: 'high', output_format: 'jpeg' });

	// A second preset (copied from the active one) and another model, so those filters can tell apart.
	const settings = (await (await request.get('/api/settings')).json()) as { active_preset_id: string };
	const created = await request.post('/api/settings/presets', { data: { name: ALT_PRESET }, headers: origin() });
	expect(created.ok(), await created.text()).toBe(true);
	try {
		await generate(request, {
			prompt: PROMPT_C,
			n: 1,
			size: '1024x1536',
			quality: 'medium',
			output_format: 'webp',
			model: ALT_MODEL
		});
	} finally {
		const back = await request.post(`/api/settings/presets/${settings.active_preset_id}/activate`, {
			headers: origin()
		});
		expect(back.ok(), await back.text()).toBe(true);
	}
	await request.dispose();
});

test.afterAll(async ({ playwright }) => {
	// Leave the shared server as we found it: this run's images and preset go.
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await unlockApi(request);
	for (const word of [RUN, PAGES_WORD]) {
		const found = await request.get(`/api/gallery?prompt=${encodeURIComponent(word)}&page_size=100`);
		const ids = ((await found.json()) as { images: { id: string }[] }).images.map((image) => image.id);
		if (ids.length > 0) {
			await request.post('/api/gallery/batch/delete', { data: { ids }, headers: origin() });
		}
	}
	const settings = (await (await request.get('/api/settings')).json()) as {
		presets: { id: string; name: string }[];
	};
	const alt = settings.presets.find((preset) => preset.name === ALT_PRESET);
	if (alt) await request.delete(`/api/settings/presets/${alt.id}`, { headers: origin() });
	await request.dispose();
});

test('filters by prompt, model, preset, size and date; the URL survives reload and Back', async ({ page }) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	await unlock(page);
	const g = gallery(page);
	await expect(g.getByRole('heading', { name: 'Gallery' })).toBeVisible();

	// Prompt search (English).
	await g.getByLabel('Search prompts').fill(RUN);
	await g.getByRole('button', { name: 'Search', exact: true }).click();
	await expect(page).toHaveURL(new RegExp(`[?&]q=${RUN}`));
	await expect(items(page)).toHaveCount(4);

	// Prompt search (Chinese).
	await g.getByLabel('Search prompts').fill(`${RUN} 青色的山峦`);
	await g.getByLabel('Search prompts').press('Enter');
	await expect(items(page)).toHaveCount(1);
	await expect(items(page).first()).toHaveAccessibleName(new RegExp('青色的山峦'));

	await g.getByLabel('Search prompts').fill(RUN);
	await g.getByLabel('Search prompts').press('Enter');
	await expect(items(page)).toHaveCount(4);

	// Model.
	await g.getByLabel('Model').selectOption(ALT_MODEL);
	await expect(page).toHaveURL(/[?&]model=/);
	await expect(items(page)).toHaveCount(1);
	await expect(items(page).first()).toHaveAccessibleName(/violet orchard/);
	await g.getByLabel('Model').selectOption('');
	await expect(items(page)).toHaveCount(4);

	// Preset.
	await g.getByLabel('Preset').selectOption(ALT_PRESET);
	await expect(page).toHaveURL(/[?&]preset=/);
	await expect(items(page)).toHaveCount(1);
	await expect(items(page).first()).toHaveAccessibleName(/violet orchard/);
	await g.getByLabel('Preset').selectOption('');
	await expect(items(page)).toHaveCount(4);

	// Size, then a reload keeps prompt + size, and Back undoes the size.
	await g.getByLabel('Size').selectOption('1536x1024');
	await expect(page).toHaveURL(/[?&]size=1536x1024/);
	await expect(items(page)).toHaveCount(1);
	await page.reload();
	await expect(gallery(page).getByLabel('Search prompts')).toHaveValue(RUN);
	await expect(gallery(page).getByLabel('Size')).toHaveValue('1536x1024');
	await expect(items(page)).toHaveCount(1);
	await expect(items(page).first()).toHaveAccessibleName(/青色的山峦/);
	await page.goBack();
	await expect(page).not.toHaveURL(/size=/);
	await expect(gallery(page).getByLabel('Size')).toHaveValue('');
	await expect(items(page)).toHaveCount(4);

	// Date range: nothing from tomorrow on; everything of this run today.
	await g.getByLabel('From date').fill(localDay(1));
	await expect(page).toHaveURL(/[?&]from=/);
	await expect(g.getByTestId('gallery-empty')).toBeVisible();
	await expect(items(page)).toHaveCount(0);
	await g.getByLabel('From date').fill(localDay(0));
	await g.getByLabel('To date').fill(localDay(0));
	await expect(page).toHaveURL(/[?&]to=/);
	await expect(items(page)).toHaveCount(4);
	await g.getByLabel('To date').fill(localDay(-1));
	await expect(items(page)).toHaveCount(0);
	await g.getByRole('button', { name: 'Clear filters' }).click();
	await expect(page).not.toHaveURL(/[?&](q|from|to)=/);

	// Total size on demand.
	await g.getByRole('button', { name: 'Total size' }).click();
	await expect(g.getByTestId('gallery-total-size')).toContainText(/Total size: \d/);

	expect(problems).toEqual([]);
});

test('lightbox: ←/→ browse, the open image survives reload, Esc closes', async ({ page }) => {
	const problems = watchForProblems(page);
	await openRun(page);
	await expect(items(page)).toHaveCount(4);
	const firstId = await items(page).nth(0).getAttribute('data-gallery-id');
	const secondId = await items(page).nth(1).getAttribute('data-gallery-id');

	await items(page).first().click();
	const dialog = page.getByRole('dialog', { name: 'Image viewer' });
	await expect(dialog).toBeVisible();
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 1 of 4');
	await expect(page).toHaveURL(new RegExp(`[?&]image=${firstId}`));
	await expect(dialog.getByRole('button', { name: 'Previous image' })).toBeDisabled();

	await page.keyboard.press('ArrowRight');
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 2 of 4');
	await expect(page).toHaveURL(new RegExp(`[?&]image=${secondId}`));
	await page.keyboard.press('ArrowLeft');
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 1 of 4');
	await dialog.getByRole('button', { name: 'Next image' }).click();
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 2 of 4');

	// Copy prompt puts the prompt on the clipboard and says so inside the viewer.
	await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
		origin: process.env.PANEL_URL
	});
	await dialog.getByRole('button', { name: 'Copy prompt' }).click();
	await expect(dialog.getByTestId('lightbox-notice')).toContainText('Prompt copied.');
	const copied = await page.evaluate(() => navigator.clipboard.readText());
	expect(copied).toContain(RUN);

	await page.reload();
	const reopened = page.getByRole('dialog', { name: 'Image viewer' });
	await expect(reopened).toBeVisible();
	await expect(reopened.getByTestId('lightbox-position')).toContainText('Image 2 of 4');
	await expect(reopened.getByTestId('lightbox-prompt')).toContainText(RUN);

	await page.keyboard.press('Escape');
	await expect(reopened).toBeHidden();
	await expect(page).not.toHaveURL(/[?&]image=/);
	await expect(page).toHaveURL(new RegExp(`[?&]q=${RUN}`));
	await expect(items(page).nth(1)).toBeFocused();

	// "Use prompt" fills the compose form and closes the viewer.
	await items(page).first().click();
	const prompt = (await reopened.getByTestId('lightbox-prompt').textContent())?.trim() ?? '';
	await reopened.getByRole('button', { name: 'Use prompt' }).click();
	await expect(reopened).toBeHidden();
	await expect(page.getByRole('textbox', { name: 'Prompt', exact: true })).toHaveValue(prompt);

	expect(problems).toEqual([]);
});

test('delete with undo: undone keeps the image, not undone removes it after 5 s', async ({ page, request }) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	await unlockApi(request);
	await openRun(page);
	await expect(items(page)).toHaveCount(4);
	const id = await items(page).first().getAttribute('data-gallery-id');
	expect(id).toBeTruthy();

	// Delete from the lightbox, confirm in the custom dialog, then undo.
	await items(page).first().click();
	const dialog = page.getByRole('dialog', { name: 'Image viewer' });
	await dialog.getByTestId('lightbox-delete').click();
	const confirm = page.getByTestId('gallery-confirm-delete');
	await expect(confirm).toBeVisible();
	await expect(confirm.getByRole('heading', { name: 'Delete this image?' })).toBeVisible();
	await confirm.getByRole('button', { name: 'Delete' }).click();
	await expect(dialog).toBeHidden();
	await expect(items(page)).toHaveCount(3);
	await page.getByTestId('toasts').getByRole('button', { name: 'Undo' }).click();
	await expect(items(page)).toHaveCount(4);
	await expect(page.getByTestId('toasts')).toContainText('Image restored.');
	await page.waitForTimeout(6_000);
	expect((await request.get(`/api/gallery/${id}`)).status()).toBe(200);
	await expect(items(page)).toHaveCount(4);

	// Cancel in the confirmation dialog changes nothing.
	await items(page).first().click();
	await dialog.getByTestId('lightbox-delete').click();
	await confirm.getByRole('button', { name: 'Cancel' }).click();
	await expect(confirm).toBeHidden();
	await expect(dialog).toBeVisible();

	// Delete again and let the undo window pass: gone from the server.
	await dialog.getByTestId('lightbox-delete').click();
	await confirm.getByRole('button', { name: 'Delete' }).click();
	await expect(items(page)).toHaveCount(3);
	expect((await request.get(`/api/gallery/${id}`)).status()).toBe(200);
	await expect.poll(async () => (await request.get(`/api/gallery/${id}`)).status(), { timeout: 12_000 }).toBe(404);
	await expect(items(page)).toHaveCount(3);
	await page.reload();
	await expect(items(page)).toHaveCount(3);

	expect(problems).toEqual([]);
});

test('batch favorite with per-id feedback, and the favorite filter', async ({ page, request }) => {
	const problems = watchForProblems(page);
	await unlockApi(request);
	await openRun(page);
	await expect(items(page)).toHaveCount(3);
	const g = gallery(page);

	await g.getByTestId('gallery-select-mode').click();
	const bar = g.getByRole('toolbar', { name: 'Actions for selected images' });
	await expect(bar).toBeVisible();
	await items(page).nth(0).click();
	await items(page).nth(1).click();
	await expect(items(page).nth(0)).toHaveAttribute('aria-pressed', 'true');
	await expect(bar).toContainText('2 selected');
	const ids = [
		await items(page).nth(0).getAttribute('data-gallery-id'),
		await items(page).nth(1).getAttribute('data-gallery-id')
	];
	await bar.getByRole('button', { name: 'Favorite', exact: true }).click();
	await expect(page.getByTestId('toasts')).toContainText('2 of 2 images marked as favorite.');
	await expect(g.getByTestId('favorite-badge')).toHaveCount(2);
	for (const id of ids) {
		const entry = (await (await request.get(`/api/gallery/${id}`)).json()) as { favorite: boolean };
		expect(entry.favorite).toBe(true);
	}
	await g.getByTestId('gallery-select-mode').click();

	await g.getByLabel('Favorites').selectOption('true');
	await expect(page).toHaveURL(/[?&]favorite=true/);
	await expect(items(page)).toHaveCount(2);
	await g.getByLabel('Favorites').selectOption('false');
	await expect(items(page)).toHaveCount(1);
	await page.reload();
	await expect(gallery(page).getByLabel('Favorites')).toHaveValue('false');
	await expect(items(page)).toHaveCount(1);

	// The lightbox's favorite toggle.
	await items(page).first().click();
	const toggle = page.getByRole('dialog', { name: 'Image viewer' }).getByTestId('lightbox-favorite');
	await expect(toggle).toHaveAttribute('aria-pressed', 'false');
	await toggle.click();
	await expect(toggle).toHaveAttribute('aria-pressed', 'true');
	await page.keyboard.press('Escape');

	// Delete all asks for a typed confirmation; cancelling keeps everything.
	await gallery(page).getByRole('button', { name: 'Delete all' }).click();
	const confirmAll = page.getByTestId('gallery-confirm-delete-all');
	await expect(confirmAll).toBeVisible();
	await expect(confirmAll.getByRole('button', { name: 'Delete everything' })).toBeDisabled();
	await confirmAll.getByLabel('Type DELETE to confirm').fill('DELETE');
	await expect(confirmAll.getByRole('button', { name: 'Delete everything' })).toBeEnabled();
	await confirmAll.getByRole('button', { name: 'Cancel' }).click();
	await expect(confirmAll).toBeHidden();

	expect(problems).toEqual([]);
});

test('pagination: page jump, the page survives reload, the viewer crosses pages', async ({ page, request }) => {
	test.setTimeout(90_000);
	const problems = watchForProblems(page);
	await useMockUpstream(request);
	const word = PAGES_WORD;
	for (let i = 0; i < 3; i++) {
		await generate(request, { prompt: `gallerytest ${word} batch ${i}`, n: 9, size: 'auto', output_format: 'png' });
	}
	await unlock(page);
	await page.goto(`/?q=${word}`);
	const g = gallery(page);
	await expect(g.getByTestId('gallery-count')).toHaveText('27 images');
	await expect(items(page)).toHaveCount(24);
	const nav = g.getByRole('navigation', { name: 'Gallery pages' });
	await expect(nav.getByTestId('gallery-page')).toHaveText('Page 1 of 2');

	await nav.getByLabel('Go to page').fill('2');
	await nav.getByRole('button', { name: 'Go', exact: true }).click();
	await expect(page).toHaveURL(/[?&]page=2/);
	await expect(items(page)).toHaveCount(3);
	await page.reload();
	await expect(gallery(page).getByTestId('gallery-page')).toHaveText('Page 2 of 2');
	await expect(items(page)).toHaveCount(3);

	// ← on the first image of page 2 opens the last image of page 1.
	await items(page).first().click();
	const dialog = page.getByRole('dialog', { name: 'Image viewer' });
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 1 of 3');
	await page.keyboard.press('ArrowLeft');
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 24 of 24');
	await expect(page).not.toHaveURL(/[?&]page=/);
	await page.keyboard.press('ArrowRight');
	await expect(dialog.getByTestId('lightbox-position')).toContainText('Image 1 of 3');
	await expect(page).toHaveURL(/[?&]page=2/);
	await page.keyboard.press('Escape');
	await expect(dialog).toBeHidden();

	// Back through the history: page 2 → page 1.
	await page.goBack();
	await expect(gallery(page).getByTestId('gallery-page')).toHaveText('Page 1 of 2');

	// Batch delete with partial success: one of the two is deleted elsewhere first.
	await g.getByTestId('gallery-select-mode').click();
	const bar = g.getByRole('toolbar', { name: 'Actions for selected images' });
	await items(page).nth(0).click();
	await items(page).nth(1).click();
	const goneId = await items(page).nth(1).getAttribute('data-gallery-id');
	expect((await request.delete(`/api/gallery/${goneId}`, { headers: origin() })).status()).toBe(200);
	await bar.getByRole('button', { name: 'Delete selected' }).click();
	const confirm = page.getByTestId('gallery-confirm-batch-delete');
	await expect(confirm.getByRole('heading', { name: 'Delete 2 images?' })).toBeVisible();
	await confirm.getByRole('button', { name: 'Delete' }).click();
	await expect(page.getByTestId('toasts')).toContainText(
		'Deleted 1 of 2 images. 1 could not be found (already deleted?).'
	);
	await expect(g.getByTestId('gallery-count')).toHaveText('25 images');
	await expect(bar).toContainText('0 selected');
	await g.getByTestId('gallery-select-mode').click();

	// Leaving the page during the undo window sends the pending delete at once.
	const flushedId = await items(page).first().getAttribute('data-gallery-id');
	await items(page).first().click();
	await page.getByRole('dialog', { name: 'Image viewer' }).getByTestId('lightbox-delete').click();
	await page.getByTestId('gallery-confirm-delete').getByRole('button', { name: 'Delete' }).click();
	await expect(g.getByTestId('gallery-count')).toHaveText('25 images');
	await page.reload();
	await expect.poll(async () => (await request.get(`/api/gallery/${flushedId}`)).status(), { timeout: 3_000 }).toBe(404);
	await expect(gallery(page).getByTestId('gallery-count')).toHaveText('24 images');

	expect(problems).toEqual([]);
});

test('a queued thumbnail shows a placeholder and is retried until it loads', async ({ page }) => {
	const problems = watchForProblems(page);
	// The server renders thumbnails at once for these tiny images, so pretend they
	// are still queued: rows say "queued" and each thumbnail's first request 404s.
	await page.route('**/api/gallery?*', async (route) => {
		const response = await route.fetch();
		const body = (await response.json()) as { images: { thumbnail_status: string }[] };
		for (const image of body.images) image.thumbnail_status = 'queued';
		await route.fulfill({ response, json: body });
	});
	const seen = new Set<string>();
	let misses = 0;
	await page.route('**/api/thumb/**', async (route) => {
		const name = new URL(route.request().url()).pathname;
		if (!seen.has(name)) {
			seen.add(name);
			misses++;
			await route.fulfill({ status: 404, contentType: 'application/json', body: '{"detail":"Thumbnail not found"}' });
			return;
		}
		await route.continue();
	});
	await openRun(page);
	await expect(items(page)).toHaveCount(3);
	await expect(items(page).first().getByTestId('thumb-placeholder')).toContainText('Thumbnail is being prepared');
	await expect(gallery(page).getByTestId('thumb-placeholder')).toHaveCount(0, { timeout: 15_000 });
	expect(misses).toBe(3);
	for (const img of await gallery(page).locator('img').all()) {
		expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
	}
	expect(problems).toEqual([]);
});

test('axe finds no WCAG A/AA problems in the gallery or the viewer, light and dark', async ({ browser }) => {
	test.setTimeout(60_000);
	// axe is injected as a script, which the server's CSP rightly refuses; only this
	// context bypasses it (every other test runs under the real CSP).
	const context = await browser.newContext({ baseURL: process.env.PANEL_URL, bypassCSP: true });
	const page = await context.newPage();
	await openRun(page);
	await expect(items(page).first()).toBeVisible();
	await gallery(page).getByTestId('gallery-select-mode').click();
	await items(page).first().click();
	await page.addScriptTag({ path: path.join(import.meta.dirname, '..', '..', 'node_modules', 'axe-core', 'axe.min.js') });

	async function audit(selector: string): Promise<string[]> {
		return page.evaluate(async (sel) => {
			type AxeResult = { violations: { id: string; nodes: { target: string[] }[] }[] };
			const axe = (window as unknown as { axe: { run: (el: Element, opts: unknown) => Promise<AxeResult> } }).axe;
			const element = document.querySelector(sel);
			if (!element) return [`missing ${sel}`];
			const result = await axe.run(element, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
			return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
		}, selector);
	}

	for (const theme of ['light', 'dark'] as const) {
		await page.locator('#theme-select').selectOption(theme);
		expect(await audit('[data-testid="gallery"]'), `gallery (${theme})`).toEqual([]);
	}
	await gallery(page).getByTestId('gallery-select-mode').click();
	await items(page).first().click();
	const dialog = page.getByRole('dialog', { name: 'Image viewer' });
	await expect(dialog).toBeVisible();
	for (const theme of ['dark', 'light'] as const) {
		await page.evaluate((value) => document.documentElement.classList.toggle('dark', value === 'dark'), theme);
		expect(await audit('[data-testid="gallery-lightbox"]'), `viewer (${theme})`).toEqual([]);
	}
	await context.close();
});

test('screenshots: desktop and phone, light and dark; no overflow at 360 px', async ({ page }, testInfo) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	await openRun(page);
	await expect(items(page)).toHaveCount(3);

	const shots: { name: string; width: number; height: number }[] = [
		{ name: 'desktop', width: 1280, height: 900 },
		{ name: 'phone', width: 390, height: 844 }
	];
	for (const shot of shots) {
		await page.setViewportSize({ width: shot.width, height: shot.height });
		for (const theme of ['light', 'dark'] as const) {
			await page.locator('#theme-select').selectOption(theme);
			await expect(page.locator('html')).toHaveClass(theme === 'dark' ? /dark/ : /^(?!.*dark).*$/);
			await gallery(page).scrollIntoViewIfNeeded();
			await screenshot(page, testInfo, `gallery-${shot.name}-${theme}`);
			await items(page).first().click();
			const dialog = page.getByRole('dialog', { name: 'Image viewer' });
			await expect(dialog).toBeVisible();
			await expect(dialog.getByTestId('lightbox-image')).toBeVisible();
			// The viewer is a fixed modal: a viewport-sized capture shows it as the user sees it.
			await page.screenshot({
				path: path.join(testInfo.project.outputDir, `lightbox-${shot.name}-${theme}.png`)
			});
			await page.keyboard.press('Escape');
			await expect(dialog).toBeHidden();
		}
	}

	// Keyboard only: Tab to a card, Enter opens the viewer, Esc closes it and focus returns.
	await page.setViewportSize({ width: 1280, height: 900 });
	await items(page).first().focus();
	await page.keyboard.press('Enter');
	await expect(page.getByRole('dialog', { name: 'Image viewer' })).toBeVisible();
	await expect(page.getByRole('dialog', { name: 'Image viewer' }).getByRole('button', { name: 'Close viewer' })).toBeFocused();
	await page.keyboard.press('Escape');
	await expect(items(page).first()).toBeFocused();

	// Chinese messages are complete.
	await page.locator('#language-select').selectOption('zh');
	await expect(gallery(page).getByRole('heading', { name: '图库' })).toBeVisible();
	await expect(gallery(page).getByLabel('搜索提示词')).toHaveValue(RUN);
	await screenshot(page, testInfo, 'gallery-desktop-zh');
	await page.locator('#language-select').selectOption('en');

	await page.setViewportSize({ width: 360, height: 740 });
	const overflow = await page.evaluate(
		() => document.documentElement.scrollWidth - document.documentElement.clientWidth
	);
	expect(overflow).toBeLessThanOrEqual(0);
	expect(problems).toEqual([]);
});
