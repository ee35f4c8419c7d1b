import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type APIRequestContext, type Download, type Locator, type Page } from '@playwright/test';
import {
	generate,
	origin,
	screenshot,
	unlock,
	unlockApi,
	useMockUpstream,
	watchForProblems
} from './support/panel';
import { gradientPng } from './support/png';
import { storedZip } from './support/zip';

/**
 * Gallery ZIP export and import in the browser, against the real server: "Export all"
 * (a direct export the browser streams to disk), "Export selected" in batch mode (a
 * tracked export), and importing the archives again through the import dialog.
 * Images are seeded through the real API (generate → mock upstream) under this run's
 * unique word; the grid is narrowed to it so other specs' images stay out of the way.
 */
test.use({ baseURL: process.env.PANEL_URL });
test.describe.configure({ mode: 'serial' });

const RUN = `zip${Date.now().toString(36)}`;
const PROMPT = `exporttest ${RUN} copper harbour at dusk`;
const SEEDED = 3;
const SCRATCH = process.env.PANEL_TMP_DIR ?? tmpdir();

/** Archives downloaded by earlier tests (the tests run in order). */
let allZip = '';
let selectedZip = '';

async function runIds(request: APIRequestContext): Promise<string[]> {
	const found = await request.get(`/api/gallery?prompt=${encodeURIComponent(RUN)}&page_size=100`);
	return ((await found.json()) as { images: { id: string }[] }).images.map((image) => image.id);
}

async function deleteRun(request: APIRequestContext): Promise<void> {
	const ids = await runIds(request);
	if (ids.length === 0) return;
	const response = await request.post('/api/gallery/batch/delete', { data: { ids }, headers: origin() });
	expect(response.ok(), await response.text()).toBe(true);
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

/** Keep a download for later tests and check that it is a ZIP archive. */
async function keepZip(download: Download, name: string): Promise<string> {
	expect(download.suggestedFilename()).toMatch(/\.zip$/);
	const file = path.join(SCRATCH, `${RUN}-${name}.zip`);
	await download.saveAs(file);
	const bytes = readFileSync(file);
	expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
	expect(bytes.includes(Buffer.from('metadata.json'))).toBe(true);
	return file;
}

test.beforeAll(async ({ playwright }) => {
	test.setTimeout(60_000);
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await useMockUpstream(request);
	await generate(request, { prompt: PROMPT, n: SEEDED, size: '1024x1024', quality: 'low', output_format: 'png' });
	await request.dispose();
});

test.afterAll(async ({ playwright }) => {
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await unlockApi(request);
	await deleteRun(request);
	await request.dispose();
});

test('export all shows its progress and ends with a ZIP download', async ({ page }) => {
	const problems = watchForProblems(page);
	await openRun(page);
	await expect(items(page)).toHaveCount(SEEDED);
	const g = gallery(page);

	// Every text the status line shows, however briefly.
	await page.evaluate(() => {
		const seen: string[] = [];
		(window as unknown as { exportTexts: string[] }).exportTexts = seen;
		new MutationObserver(() => {
			const text = document.querySelector('[data-testid="gallery-export-status"]')?.textContent?.trim();
			if (text && seen[seen.length - 1] !== text) seen.push(text);
		}).observe(document.body, { subtree: true, childList: true, characterData: true });
	});

	// Hold the reservation a moment, so the starting state can be seen.
	let release: () => void = () => undefined;
	const held = new Promise<void>((resolve) => (release = resolve));
	await page.route('**/api/gallery/direct-export-jobs', async (route) => {
		await held;
		await route.continue();
	});
	// A few tiny images stream in a blink: the first event stream replays the middle
	// stages (preparing, streaming) before the real one takes over after its reconnect.
	let streams = 0;
	await page.route(/\/api\/gallery\/direct-export-jobs\/[^/]+\/events$/, async (route) => {
		if (streams++ > 0) return route.continue();
		const jobId = /direct-export-jobs\/([^/]+)\/events/.exec(route.request().url())?.[1] ?? '';
		const base = {
			job_id: jobId,
			status: 'running',
			message: '',
			filename: 'gpt-images.zip',
			download_url: `/api/download-all?export_job_id=${jobId}`,
			requested_count: SEEDED,
			exported_count: 0,
			missing_count: 0,
			created_at: '',
			updated_at: '',
			error: null
		};
		const frames = [
			{ ...base, stage: 'preparing', progress: 7, processed_count: 1, bytes_total: 0, bytes_written: 0 },
			{ ...base, stage: 'streaming', progress: 60, processed_count: SEEDED, bytes_total: 2_097_152, bytes_written: 1_048_576 }
		];
		await route.fulfill({
			status: 200,
			headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
			body: frames.map((frame) => `event: export\ndata: ${JSON.stringify(frame)}\n\n`).join('')
		});
	});

	const download = page.waitForEvent('download');
	await g.getByTestId('gallery-export-all').click();
	const card = g.getByTestId('gallery-export');
	await expect(card).toHaveAttribute('data-state', 'running');
	await expect(card.getByRole('heading', { name: 'Export of the whole gallery' })).toBeVisible();
	await expect(card.getByTestId('gallery-export-progress')).toBeVisible();
	await expect(card.getByTestId('gallery-export-status')).toHaveText('Starting the export…');
	await expect(g.getByTestId('gallery-export-all')).toBeDisabled();
	release();

	allZip = await keepZip(await download, 'all');
	await expect(card).toHaveAttribute('data-state', 'done');
	const status = card.getByTestId('gallery-export-status');
	await expect(status).toHaveText(/^Done: \d+ exported, 0 missing\.$/);
	const exported = Number(/(\d+) exported/.exec((await status.textContent()) ?? '')?.[1]);
	expect(exported).toBeGreaterThanOrEqual(SEEDED);
	const texts = await page.evaluate(() => (window as unknown as { exportTexts: string[] }).exportTexts);
	expect(texts).toContain(`Preparing the entries: 1 of ${SEEDED}`);
	expect(texts).toContain('Downloading: 1.0 of 2.0 MB (50%)');
	await expect(g.getByTestId('gallery-export-all')).toBeEnabled();
	await card.getByRole('button', { name: 'Dismiss' }).click();
	await expect(card).toBeHidden();
	expect(problems).toEqual([]);
});

test('an export the server refuses shows its reason', async ({ page }) => {
	const problems = watchForProblems(page);
	await page.route('**/api/gallery/direct-export-jobs', (route) =>
		route.fulfill({
			status: 429,
			contentType: 'application/json',
			body: JSON.stringify({
				status: 'error',
				error_code: 'rate_limited',
				detail: 'Too many active export jobs (5). Please wait for existing exports to complete.'
			})
		})
	);
	await openRun(page);
	await gallery(page).getByTestId('gallery-export-all').click();
	const card = gallery(page).getByTestId('gallery-export');
	await expect(card).toHaveAttribute('data-state', 'error');
	await expect(card.getByRole('alert')).toHaveText(
		'The export failed: Too many active export jobs (5). Please wait for existing exports to complete.'
	);
	expect(problems).toEqual([]);
});

test('export selected in batch mode downloads the chosen images', async ({ page }) => {
	const problems = watchForProblems(page);
	await openRun(page);
	await expect(items(page)).toHaveCount(SEEDED);
	const g = gallery(page);
	await g.getByTestId('gallery-select-mode').click();
	const bar = g.getByRole('toolbar', { name: 'Actions for selected images' });
	await expect(bar.getByRole('button', { name: 'Export selected' })).toBeDisabled();
	await bar.getByRole('button', { name: 'Select all on page' }).click();
	await expect(bar).toContainText(`${SEEDED} selected`);

	const download = page.waitForEvent('download');
	await bar.getByRole('button', { name: 'Export selected' }).click();
	const card = g.getByTestId('gallery-export');
	await expect(card).toHaveAttribute('data-kind', 'selected');
	await expect(card.getByRole('heading', { name: `Export of the selected images (${SEEDED})` })).toBeVisible();
	selectedZip = await keepZip(await download, 'selected');
	await expect(card.getByTestId('gallery-export-status')).toHaveText(
		`Ready: ${SEEDED} exported, 0 missing.`
	);
	await expect(card).toContainText(/Your browser is downloading .+\.zip\./);
	// A packed archive stays downloadable: the link fetches it again.
	const again = page.waitForEvent('download');
	await card.getByRole('link', { name: 'Download it again' }).click();
	expect((await again).suggestedFilename()).toMatch(/\.zip$/);
	expect(problems).toEqual([]);
});

test('import brings deleted images back; importing them again finds only duplicates', async ({ page, request }, testInfo) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	expect(selectedZip, 'the selected export ran first').not.toBe('');
	await unlockApi(request);
	await deleteRun(request);
	await openRun(page);
	await expect(gallery(page).getByTestId('gallery-empty')).toBeVisible();

	await gallery(page).getByTestId('gallery-import').click();
	const dialog = page.getByRole('dialog', { name: 'Import a gallery ZIP' });
	await expect(dialog).toBeVisible();
	const input = dialog.getByLabel('ZIP file');
	await expect(input).toBeFocused();
	await expect(dialog.getByRole('button', { name: 'Start import' })).toBeDisabled();
	await input.setInputFiles(selectedZip);
	await expect(dialog.getByTestId('import-file')).toContainText(path.basename(selectedZip));

	// Hold the upload's answer a moment so the upload state can be seen.
	let release: () => void = () => undefined;
	const held = new Promise<void>((resolve) => (release = resolve));
	await page.route(/\/api\/import\?/, async (route) => {
		await held;
		await route.continue();
	});
	await dialog.getByRole('button', { name: 'Start import' }).click();
	await expect(dialog.getByTestId('import-upload-progress')).toBeVisible();
	await expect(dialog.getByTestId('import-progress')).toContainText(/Upload(ing: .+ \(\d+%\)|ed; waiting for the server…)/);
	release();

	await expect(dialog.getByTestId('import-result')).toHaveText(
		`Import finished: ${SEEDED} imported, 0 already in the gallery, 0 skipped.`,
		{ timeout: 20_000 }
	);
	await expect(dialog.getByTestId('import-imported')).toHaveText(String(SEEDED));
	await expect(dialog.getByTestId('import-duplicates')).toHaveText('0');
	await expect(dialog.getByTestId('import-processed')).toHaveText(`${SEEDED} of ${SEEDED}`);
	await screenshot(page, testInfo, 'import-done');
	// The gallery behind the dialog reloaded by itself.
	await expect(items(page)).toHaveCount(SEEDED);

	// The same archive again: everything is already there.
	await dialog.getByRole('button', { name: 'Import another file' }).click();
	await dialog.getByLabel('ZIP file').setInputFiles(selectedZip);
	await dialog.getByRole('button', { name: 'Start import' }).click();
	await expect(dialog.getByTestId('import-result')).toHaveText(
		`Import finished: 0 imported, ${SEEDED} already in the gallery, 0 skipped.`,
		{ timeout: 20_000 }
	);
	await expect(dialog.getByTestId('import-imported')).toHaveText('0');
	await expect(dialog.getByTestId('import-duplicates')).toHaveText(String(SEEDED));
	await dialog.getByRole('button', { name: 'Close' }).last().click();
	await expect(dialog).toBeHidden();
	await expect(items(page)).toHaveCount(SEEDED);
	expect(problems).toEqual([]);
});

test('importing the export of the whole gallery imports nothing new', async ({ page }) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	expect(allZip, 'the export-all test ran first').not.toBe('');
	await openRun(page);
	await gallery(page).getByTestId('gallery-import').click();
	const dialog = page.getByRole('dialog', { name: 'Import a gallery ZIP' });
	await dialog.getByLabel('ZIP file').setInputFiles(allZip);
	await dialog.getByRole('button', { name: 'Start import' }).click();
	await expect(dialog.getByTestId('import-result')).toHaveText(/^Import finished: 0 imported, \d+ already in the gallery, 0 skipped\.$/, {
		timeout: 20_000
	});
	const duplicates = Number(await dialog.getByTestId('import-duplicates').textContent());
	expect(duplicates).toBeGreaterThanOrEqual(SEEDED);
	expect(problems).toEqual([]);
});

test('a file that is not a ZIP is refused in words; Escape closes the dialog', async ({ page }) => {
	const problems = watchForProblems(page);
	await openRun(page);
	const opener = gallery(page).getByTestId('gallery-import');
	await opener.focus();
	await page.keyboard.press('Enter');
	const dialog = page.getByRole('dialog', { name: 'Import a gallery ZIP' });
	await expect(dialog).toBeVisible();
	await expect(dialog.getByLabel('ZIP file')).toBeFocused();

	// Dropped on the drop zone rather than picked.
	const dataTransfer = await page.evaluateHandle(() => {
		const transfer = new DataTransfer();
		transfer.items.add(new File(['these are plain words, not a ZIP archive\n'], 'notes.zip', { type: 'application/zip' }));
		return transfer;
	});
	const zone = dialog.getByTestId('import-drop-zone');
	await zone.dispatchEvent('dragover', { dataTransfer });
	await expect(zone).toContainText('Release to use this file.');
	await zone.dispatchEvent('drop', { dataTransfer });
	await expect(dialog.getByTestId('import-file')).toContainText('Selected: notes.zip');
	await dialog.getByRole('button', { name: 'Start import' }).click();
	const error = dialog.getByRole('alert');
	await expect(error).toContainText('Import file must be a valid ZIP');
	await expect(error).toContainText('The import failed:');

	await dialog.getByRole('button', { name: 'Import another file' }).click();
	await expect(dialog.getByLabel('ZIP file')).toBeFocused();
	await expect(dialog.getByRole('button', { name: 'Start import' })).toBeDisabled();
	await page.keyboard.press('Escape');
	await expect(dialog).toBeHidden();
	await expect(opener).toBeFocused();
	expect(problems).toEqual([]);
});

test('an archive with broken entries imports what it can and lists the rest in words', async ({ page }, testInfo) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	const named = (file: string) => ({ filename: file, prompt: `exporttest ${RUN} crafted ${file}` });
	const metadata = {
		images: [
			named(`images/kept-${RUN}.png`),
			named('images/gone.png'),
			named('images/empty.png'),
			named('images/broken.png'),
			named('notes.txt')
		]
	};
	const archive = storedZip([
		{ name: `images/kept-${RUN}.png`, data: gradientPng(24, 24, 4242) },
		{ name: 'images/empty.png', data: Buffer.alloc(0) },
		{ name: 'images/broken.png', data: Buffer.from('certainly not a PNG image') },
		{ name: 'notes.txt', data: Buffer.from('a note') },
		{ name: 'metadata.json', data: Buffer.from(JSON.stringify(metadata)) }
	]);
	await openRun(page);
	await gallery(page).getByTestId('gallery-import').click();
	const dialog = page.getByRole('dialog', { name: 'Import a gallery ZIP' });
	await dialog.getByLabel('ZIP file').setInputFiles({ name: 'crafted.zip', mimeType: 'application/zip', buffer: archive });
	await dialog.getByRole('button', { name: 'Start import' }).click();
	await expect(dialog.getByTestId('import-result')).toHaveText(
		'Import finished: 1 imported, 0 already in the gallery, 4 skipped.',
		{ timeout: 20_000 }
	);
	const skipped = dialog.getByTestId('import-skipped-list').getByRole('listitem');
	await expect(skipped).toHaveCount(4);
	await expect(skipped.filter({ hasText: 'images/gone.png' })).toContainText('The image file is missing from the archive');
	await expect(skipped.filter({ hasText: 'images/empty.png' })).toContainText('The image file is empty');
	await expect(skipped.filter({ hasText: 'images/broken.png' })).toContainText(/The file is not a valid image: .+/);
	await expect(skipped.filter({ hasText: 'notes.txt' })).toContainText('The file type is not supported');
	await screenshot(page, testInfo, 'import-skipped');
	await expect(items(page)).toHaveCount(SEEDED + 1);
	expect(problems).toEqual([]);
});

test('Chinese: the export and import labels are translated', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	await openRun(page);
	await page.locator('#language-select').selectOption('zh');
	const g = gallery(page);
	await expect(g.getByTestId('gallery-export-all')).toHaveText('全部导出');
	await expect(g.getByTestId('gallery-import')).toHaveText('导入');

	await expect(items(page).first()).toBeVisible();
	const count = await items(page).count();
	await g.getByTestId('gallery-select-mode').click();
	const bar = g.getByRole('toolbar', { name: '所选图片的操作' });
	await bar.getByRole('button', { name: '全选本页' }).click();
	const download = page.waitForEvent('download');
	await bar.getByRole('button', { name: '导出所选' }).click();
	const card = g.getByTestId('gallery-export');
	await expect(card.getByRole('heading', { name: `导出所选的 ${count} 张图片` })).toBeVisible();
	await download;
	await expect(card.getByTestId('gallery-export-status')).toHaveText(`已就绪：已导出 ${count} 张图片，缺失 0 张。`);

	await g.getByTestId('gallery-import').click();
	const dialog = page.getByRole('dialog', { name: '导入图库 ZIP' });
	await expect(dialog).toBeVisible();
	await expect(dialog.getByLabel('ZIP 文件')).toBeFocused();
	await expect(dialog.getByRole('button', { name: '开始导入' })).toBeDisabled();
	await dialog.getByLabel('ZIP 文件').setInputFiles({
		name: 'kein-zip.zip',
		mimeType: 'application/zip',
		buffer: Buffer.from('not a zip')
	});
	await dialog.getByRole('button', { name: '开始导入' }).click();
	await expect(dialog.getByRole('alert')).toContainText('导入失败：');
	await expect(dialog.getByRole('button', { name: '导入其他文件' })).toBeVisible();
	await screenshot(page, testInfo, 'import-error-zh');
	await page.keyboard.press('Escape');
	await expect(dialog).toBeHidden();
	expect(problems).toEqual([]);
});

test('axe finds no WCAG A/AA problems in the export card or the import dialog, light and dark', async ({ browser }) => {
	test.setTimeout(60_000);
	// axe is injected as a script, which the server's CSP rightly refuses; only this context bypasses it.
	const context = await browser.newContext({ baseURL: process.env.PANEL_URL, bypassCSP: true });
	const page = await context.newPage();
	await openRun(page);
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

	const download = page.waitForEvent('download');
	await gallery(page).getByTestId('gallery-export-all').click();
	await download;
	await expect(gallery(page).getByTestId('gallery-export')).toHaveAttribute('data-state', 'done');
	await gallery(page).getByTestId('gallery-import').click();
	const dialog = page.getByRole('dialog', { name: 'Import a gallery ZIP' });
	await expect(dialog).toBeVisible();
	for (const theme of ['light', 'dark'] as const) {
		await page.evaluate((value) => document.documentElement.classList.toggle('dark', value === 'dark'), theme);
		expect(await audit('[data-testid="gallery-export"]'), `export card (${theme})`).toEqual([]);
		expect(await audit('[data-testid="gallery-import-dialog"]'), `import dialog (${theme})`).toEqual([]);
	}
	await dialog.getByLabel('ZIP file').setInputFiles(selectedZip);
	await dialog.getByRole('button', { name: 'Start import' }).click();
	await expect(dialog.getByTestId('import-result')).toBeVisible({ timeout: 20_000 });
	for (const theme of ['dark', 'light'] as const) {
		await page.evaluate((value) => document.documentElement.classList.toggle('dark', value === 'dark'), theme);
		expect(await audit('[data-testid="gallery-import-dialog"]'), `import result (${theme})`).toEqual([]);
	}
	await context.close();
});
