import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
 * "Back up to R2" in the browser, against the real server and a real S3-compatible
 * server (s3s-fs, started by global setup from S3_SERVER_BIN; objects are plain files
 * under S3_ROOT/BUCKET/KEY). The check (a dry run) counts what the bucket lacks, the
 * backup uploads it, and a full reconcile finds an object deleted from the bucket by hand.
 * A backup covers the whole gallery, so the expected counts come from the gallery and
 * the image folder as they are, other specs' images included.
 */
test.use({ baseURL: process.env.PANEL_URL });
test.describe.configure({ mode: 'serial' });

const RUN = `r2${Date.now().toString(36)}`;
const PROMPT = `backuptest ${RUN} slate quarry in fog`;
const SEEDED = 3;
const PREFIX = 'gallery/';
const LAST_BACKUP_KEY = 'gpt-image-panel.last-backup';
const UTC_TIME = /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/;

interface S3Env {
	endpoint: string;
	bucket: string;
	accessKey: string;
	secretKey: string;
	/** The bucket's folder: one file per object key. */
	bucketDir: string;
}

function s3(): S3Env {
	const { S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY, S3_ROOT } = process.env;
	if (!S3_ENDPOINT || !S3_BUCKET || !S3_ACCESS_KEY || !S3_SECRET_KEY || !S3_ROOT) {
		throw new Error(
			'S3_SERVER_BIN is not set, so no S3 test server stands in for R2. Build it and point S3_SERVER_BIN at it:\n' +
				'  cargo build --example s3_test_server\n' +
				'  S3_SERVER_BIN=$PWD/target/debug/examples/s3_test_server PANEL_BIN=... npm --prefix frontend run test:e2e'
		);
	}
	return {
		endpoint: S3_ENDPOINT,
		bucket: S3_BUCKET,
		accessKey: S3_ACCESS_KEY,
		secretKey: S3_SECRET_KEY,
		bucketDir: path.join(S3_ROOT, S3_BUCKET)
	};
}

function imagesDir(): string {
	return path.join(process.env.PANEL_TMP_DIR ?? '', 'images');
}

/** Save only the R2 part of the settings; the active preset stays as it is. */
async function saveR2(request: APIRequestContext, r2: Record<string, unknown>): Promise<void> {
	const current = (await (await request.get('/api/settings')).json()) as { api_url: string; api_path: string };
	const response = await request.post('/api/settings', {
		data: { api_url: current.api_url, api_path: current.api_path, r2_backup: r2 },
		headers: origin()
	});
	expect(response.status(), await response.text()).toBe(200);
}

/** The gallery's unique files, split by whether the file is on disk. */
async function galleryFiles(request: APIRequestContext): Promise<{ present: string[]; missing: string[] }> {
	const names = new Set<string>();
	for (let page = 1; ; page++) {
		const response = await request.get(`/api/gallery?page=${page}&page_size=100`);
		expect(response.ok(), await response.text()).toBe(true);
		const body = (await response.json()) as { images: { filename: string }[]; total_pages: number };
		for (const image of body.images) names.add(image.filename);
		if (page >= body.total_pages) break;
	}
	const all = [...names].sort();
	const onDisk = (name: string) => existsSync(path.join(imagesDir(), name));
	return { present: all.filter(onDisk), missing: all.filter((name) => !onDisk(name)) };
}

/** Every object file under the bucket's folder, as keys. */
function bucketKeys(bucketDir: string): string[] {
	if (!existsSync(bucketDir)) return [];
	return readdirSync(bucketDir, { recursive: true, encoding: 'utf8' })
		.filter((entry) => statSync(path.join(bucketDir, entry)).isFile())
		.map((entry) => entry.split(path.sep).join('/'))
		.sort();
}

function dialog(page: Page): Locator {
	return page.getByRole('dialog', { name: 'Back up to R2' });
}

async function openGallery(page: Page): Promise<void> {
	await unlock(page);
	await expect(page.getByTestId('gallery')).toBeVisible();
}

/** Open the dialog; its check starts at once. */
async function openBackup(page: Page): Promise<Locator> {
	await page.getByTestId('gallery').getByTestId('gallery-backup').click();
	await expect(dialog(page)).toBeVisible();
	return dialog(page);
}

/** The job id of the last real backup, for the Chinese test's "last backup" line. */
let lastJobId = '';

test.beforeAll(async ({ playwright }) => {
	test.setTimeout(60_000);
	s3();
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await useMockUpstream(request);
	await generate(request, { prompt: PROMPT, n: SEEDED, size: '1024x1024', quality: 'low', output_format: 'png' });
	await request.dispose();
});

test.afterAll(async ({ playwright }) => {
	// Without the S3 server nothing ran, so there is nothing to undo.
	if (!process.env.S3_ENDPOINT) return;
	// Leave the shared server as we found it: this run's images go, R2 backup is off and empty.
	const request = await playwright.request.newContext({ baseURL: process.env.PANEL_URL });
	await unlockApi(request);
	const found = await request.get(`/api/gallery?prompt=${encodeURIComponent(RUN)}&page_size=100`);
	const ids = ((await found.json()) as { images: { id: string }[] }).images.map((image) => image.id);
	if (ids.length > 0) await request.post('/api/gallery/batch/delete', { data: { ids }, headers: origin() });
	await saveR2(request, {
		enabled: false,
		endpoint_url: '',
		bucket_name: '',
		access_key_id: '',
		secret_access_key: '',
		key_prefix: PREFIX,
		region: 'auto',
		sync_interval_hours: 0
	});
	await request.dispose();
});

test('with R2 backup off the dialog says why and leads to Settings', async ({ page, request }) => {
	const problems = watchForProblems(page);
	await unlockApi(request);
	await saveR2(request, { enabled: false });
	await openGallery(page);
	const d = await openBackup(page);
	await expect(d.getByRole('alert')).toContainText('The check failed.');
	await expect(d.getByRole('alert')).toContainText('R2 backup is not ready: R2 backup is disabled.');
	await expect(d.getByRole('button', { name: 'Try again' })).toBeVisible();
	await expect(d.getByTestId('backup-start')).toHaveCount(0);
	await d.getByRole('button', { name: 'Open Settings' }).click();
	await expect(d).toBeHidden();
	await expect(page.getByRole('dialog', { name: 'Settings' })).toBeVisible();
	expect(problems).toEqual([]);
});

test('the check counts what the bucket lacks, the backup uploads it, a full reconcile finds a deleted object', async ({
	page,
	request
}, testInfo) => {
	test.setTimeout(60_000);
	const problems = watchForProblems(page);
	const target = s3();
	await unlockApi(request);
	await saveR2(request, {
		enabled: true,
		endpoint_url: target.endpoint,
		bucket_name: target.bucket,
		access_key_id: target.accessKey,
		secret_access_key: target.secretKey,
		key_prefix: PREFIX,
		region: 'auto',
		// No scheduled sync may take the single sync slot during the test.
		sync_interval_hours: 0
	});
	// The expected counts, read before the browser acts.
	const files = await galleryFiles(request);
	const total = files.present.length + files.missing.length;
	expect(files.present.length).toBeGreaterThanOrEqual(SEEDED);
	expect(bucketKeys(target.bucketDir)).toEqual([]);

	await openGallery(page);
	// No backup from this browser yet: no line.
	await expect(page.getByTestId('gallery-last-backup')).toHaveCount(0);
	let d = await openBackup(page);

	// The check: everything is missing from the empty bucket, and nothing is uploaded.
	await expect(d.getByTestId('backup-check-result')).toHaveText(`Files to upload: ${files.present.length}`);
	await expect(d.getByTestId('backup-pending')).toHaveText(String(files.present.length));
	await expect(d.getByTestId('backup-existing')).toHaveText('0');
	await expect(d.getByTestId('backup-missing')).toHaveText(String(files.missing.length));
	await expect(d.getByTestId('backup-compared')).toHaveText(
		new RegExp(`^Compared ${total} of ${total} files \\(\\d+(\\.\\d)? (B|KB|MB)\\)$`)
	);
	await expect(d.getByTestId('backup-full-reconcile')).not.toBeChecked();
	expect(bucketKeys(target.bucketDir)).toEqual([]);
	await screenshot(page, testInfo, 'r2-backup-check');

	// Hold the start a moment, so the waiting state and its progress bar can be seen
	// (later requests pass straight through).
	let release: () => void = () => undefined;
	const held = new Promise<void>((resolve) => (release = resolve));
	await page.route('**/api/gallery/sync-jobs', async (route) => {
		await held;
		await route.continue();
	});
	await d.getByTestId('backup-start').click();
	await expect(d.getByTestId('backup-stage')).toHaveText('Waiting to start…');
	await expect(d.getByTestId('backup-progress-bar')).toBeVisible();
	await expect(d.getByTestId('backup-full-reconcile')).toBeDisabled();
	release();

	await expect(d.getByTestId('backup-result')).toHaveText(
		`Backup finished: ${files.present.length} uploaded, 0 already in the bucket.`,
		{ timeout: 20_000 }
	);
	await expect(d.getByTestId('backup-uploaded')).toHaveText(String(files.present.length));
	await expect(d.getByTestId('backup-failed')).toHaveText('0');
	await expect(d.getByTestId('backup-bytes')).toHaveText(/^\d+(\.\d)? (B|KB|MB) uploaded$/);
	await screenshot(page, testInfo, 'r2-backup-done');

	// Each original is in the bucket, byte for byte, under the prefix.
	expect(bucketKeys(target.bucketDir)).toEqual(files.present.map((name) => `${PREFIX}${name}`));
	for (const name of files.present) {
		const stored = readFileSync(path.join(target.bucketDir, PREFIX, name));
		expect(stored.equals(readFileSync(path.join(imagesDir(), name))), name).toBe(true);
	}

	await d.getByRole('button', { name: 'Close' }).last().click();
	await expect(d).toBeHidden();
	const line = page.getByTestId('gallery-last-backup');
	await expect(line).toHaveText(new RegExp(`^Last backup: ${files.present.length} uploaded · ${UTC_TIME.source}$`));
	lastJobId = (await page.evaluate((key) => localStorage.getItem(key), LAST_BACKUP_KEY)) ?? '';
	expect(lastJobId).not.toBe('');

	// After a reload the line is read back from the server.
	await page.reload();
	await expect(line).toHaveText(new RegExp(`^Last backup: ${files.present.length} uploaded · ${UTC_TIME.source}$`));

	// A new check: nothing changed since the backup, and a full reconcile finds every file there.
	d = await openBackup(page);
	await expect(d.getByTestId('backup-check-result')).toHaveText(
		'Nothing changed since the last backup. Tick “Full reconcile” to compare every file with the bucket.'
	);
	await expect(d.getByTestId('backup-pending')).toHaveText('0');
	await expect(d.getByTestId('backup-start')).toBeDisabled();
	await d.getByTestId('backup-full-reconcile').check();
	await expect(d.getByTestId('backup-check-result')).toHaveText(
		'Nothing to upload: the bucket already holds every file.'
	);
	await expect(d.getByTestId('backup-pending')).toHaveText('0');
	await expect(d.getByTestId('backup-existing')).toHaveText(String(files.present.length));

	// An object deleted from the bucket by hand: only a full reconcile sees it, and uploads it again.
	const [gone] = files.present;
	if (gone === undefined) throw new Error('no gallery file to delete from the bucket');
	rmSync(path.join(target.bucketDir, PREFIX, gone));
	await d.getByTestId('backup-full-reconcile').uncheck();
	await expect(d.getByTestId('backup-check-result')).toHaveText(/^Nothing changed since the last backup\./);
	await d.getByTestId('backup-full-reconcile').check();
	await expect(d.getByTestId('backup-check-result')).toHaveText('Files to upload: 1');
	await expect(d.getByTestId('backup-existing')).toHaveText(String(files.present.length - 1));
	await d.getByTestId('backup-start').click();
	await expect(d.getByTestId('backup-result')).toHaveText(
		`Backup finished: 1 uploaded, ${files.present.length - 1} already in the bucket.`,
		{ timeout: 20_000 }
	);
	expect(existsSync(path.join(target.bucketDir, PREFIX, gone))).toBe(true);
	await page.keyboard.press('Escape');
	await expect(d).toBeHidden();
	await expect(line).toHaveText(new RegExp(`^Last backup: 1 uploaded · ${UTC_TIME.source}$`));
	lastJobId = (await page.evaluate((key) => localStorage.getItem(key), LAST_BACKUP_KEY)) ?? '';
	expect(problems).toEqual([]);
});

test('a last backup the server no longer knows hides the line', async ({ page }) => {
	const problems = watchForProblems(page);
	await page.addInitScript((key) => localStorage.setItem(key, '0123456789abcdef0123456789abcdef'), LAST_BACKUP_KEY);
	await openGallery(page);
	await expect(page.getByTestId('gallery-count')).not.toBeEmpty();
	await expect
		.poll(() => page.evaluate((key) => localStorage.getItem(key), LAST_BACKUP_KEY))
		.toBeNull();
	await expect(page.getByTestId('gallery-last-backup')).toHaveCount(0);
	expect(problems).toEqual([]);
});

test('Chinese: the backup button, dialog and last-backup line are translated', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	expect(lastJobId).not.toBe('');
	await page.addInitScript(({ key, id }) => localStorage.setItem(key, id), { key: LAST_BACKUP_KEY, id: lastJobId });
	await openGallery(page);
	await page.locator('#language-select').selectOption('zh');
	const g = page.getByTestId('gallery');
	await expect(g.getByTestId('gallery-last-backup')).toHaveText(new RegExp(`^上次备份：已上传 1 个 · ${UTC_TIME.source}$`));
	await g.getByTestId('gallery-backup').click();
	const d = page.getByRole('dialog', { name: '备份到 R2' });
	await expect(d).toBeVisible();
	await expect(d.getByLabel('完整核对')).not.toBeChecked();
	await expect(d.getByTestId('backup-check-result')).toHaveText(
		'自上次备份以来没有变化。勾选“完整核对”可将每个文件都与存储桶比较。'
	);
	await expect(d.getByTestId('backup-counts')).toContainText('待上传');
	await expect(d.getByRole('button', { name: '开始备份' })).toBeDisabled();
	await screenshot(page, testInfo, 'r2-backup-zh');
	await page.keyboard.press('Escape');
	await expect(d).toBeHidden();
	expect(problems).toEqual([]);
});

test('axe finds no WCAG A/AA problems in the backup dialog, light and dark', async ({ browser }) => {
	test.setTimeout(60_000);
	// axe is injected as a script, which the server's CSP rightly refuses; only this context bypasses it.
	const context = await browser.newContext({ baseURL: process.env.PANEL_URL, bypassCSP: true });
	const page = await context.newPage();
	await openGallery(page);
	await page.addScriptTag({ path: path.join(import.meta.dirname, '..', '..', 'node_modules', 'axe-core', 'axe.min.js') });
	const d = await openBackup(page);
	await d.getByTestId('backup-full-reconcile').check();
	await expect(d.getByTestId('backup-check-result')).toBeVisible();
	for (const theme of ['light', 'dark'] as const) {
		await page.evaluate((value) => document.documentElement.classList.toggle('dark', value === 'dark'), theme);
		const violations = await page.evaluate(async () => {
			type AxeResult = { violations: { id: string; nodes: { target: string[] }[] }[] };
			const axe = (window as unknown as { axe: { run: (el: Element, opts: unknown) => Promise<AxeResult> } }).axe;
			const element = document.querySelector('[data-testid="gallery-backup-dialog"]');
			if (!element) return ['missing dialog'];
			const result = await axe.run(element, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
			return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
		});
		expect(violations, `backup dialog (${theme})`).toEqual([]);
	}
	await context.close();
});
