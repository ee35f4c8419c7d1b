import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { ACCESS_KEY, watchForProblems } from './support/panel';

const FRONTEND_DIR = path.resolve(import.meta.dirname, '..', '..');
const EXPECTED_VERSION = readFileSync(path.join(FRONTEND_DIR, '..', 'VERSION'), 'utf8').trim();

test.use({ baseURL: process.env.PANEL_URL });

test.describe.configure({ mode: 'serial' });

test('shows the access gate', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	await page.goto('/');
	await expect(page).toHaveTitle('GPT Image Panel');
	await expect(page.getByRole('heading', { name: 'GPT Image Panel' })).toBeVisible();
	const key = page.getByLabel('Access key');
	await expect(key).toBeVisible();
	await expect(key).toHaveAttribute('id', 'access-key');
	await expect(key).toHaveAttribute('type', 'password');
	await expect(page.getByRole('button', { name: 'Unlock' })).toBeEnabled();
	await expect(page.getByTestId('app-version')).toHaveCount(0);
	await page.screenshot({ path: path.join(testInfo.project.outputDir, 'access-gate.png'), fullPage: true });

	// Narrow phones: nothing overflows horizontally at 360px.
	await page.setViewportSize({ width: 360, height: 740 });
	const overflow = await page.evaluate(
		() => document.documentElement.scrollWidth - document.documentElement.clientWidth
	);
	expect(overflow).toBeLessThanOrEqual(0);
	await page.screenshot({ path: path.join(testInfo.project.outputDir, 'access-gate-360.png') });
	expect(problems).toEqual([]);
});

test('a wrong key shows an error', async ({ page }) => {
	const problems = watchForProblems(page);
	await page.goto('/');
	await page.getByLabel('Access key').fill('definitely-not-the-key');
	await page.getByRole('button', { name: 'Unlock' }).click();
	await expect(page.getByRole('alert')).toContainText('Invalid access key');
	await expect(page.getByTestId('app-version')).toHaveCount(0);
	expect(problems).toEqual([]);
});

test('the right key unlocks, and a reload stays unlocked', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	await page.goto('/');
	await page.getByLabel('Access key').fill(ACCESS_KEY);
	await page.getByLabel('Access key').press('Enter');

	await expect(page.getByTestId('app-version')).toHaveText(EXPECTED_VERSION);
	await expect(page.getByTestId('open-settings')).toBeVisible();
	await expect(page.getByLabel('Access key')).toHaveCount(0);
	await page.screenshot({ path: path.join(testInfo.project.outputDir, 'unlocked.png'), fullPage: true });

	const cookies = await page.context().cookies();
	const cookie = cookies.find((c) => c.name === 'gpt_image_access');
	expect(cookie, 'access cookie is set').toBeDefined();
	expect(cookie?.httpOnly).toBe(true);

	await page.reload();
	await expect(page.getByTestId('app-version')).toHaveText(EXPECTED_VERSION);
	await expect(page.getByLabel('Access key')).toHaveCount(0);

	expect(problems).toEqual([]);
});
