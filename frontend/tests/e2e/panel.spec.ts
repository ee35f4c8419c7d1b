import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test, type Page } from '@playwright/test';
import { screenshot, unlock, useMockUpstream, watchForProblems } from './support/panel';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
	id: string;
	impact: string | null;
	help: string;
	nodes: { target: string[] }[];
}

/** Run axe-core in the page; return serious and critical violations only. */
async function seriousViolations(page: Page): Promise<string[]> {
	await page.addScriptTag({ content: AXE_SOURCE });
	const violations = await page.evaluate(async () => {
		const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: unknown[] }> } }).axe;
		const result = await axe.run(document);
		return result.violations;
	});
	return (violations as AxeViolation[])
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test.describe('the whole panel', () => {
	// axe is injected as a script, which the panel's CSP (rightly) refuses.
	test.use({ bypassCSP: true });

	test('has no serious accessibility violations, light or dark', async ({ page, request }, testInfo) => {
		await useMockUpstream(request);
		await unlock(page);
		await page.locator('#theme-select').selectOption('light');
		expect(await seriousViolations(page)).toEqual([]);
		await page.locator('#theme-select').selectOption('dark');
		await expect(page.locator('html')).toHaveClass(/dark/);
		await page.reload();
		expect(await seriousViolations(page)).toEqual([]);
		for (const drawer of ['settings', 'snippets', 'history']) {
			await page.getByTestId(`open-${drawer}`).click();
			await expect(page.getByRole('dialog')).toBeVisible();
			expect(await seriousViolations(page), `${drawer} drawer`).toEqual([]);
			await page.keyboard.press('Escape');
			await expect(page.getByRole('dialog')).toHaveCount(0);
		}
		await page.locator('#theme-select').selectOption('light');
		await screenshot(page, testInfo, 'panel-light');
	});
});

test('the language switch turns the panel to Chinese and back, and it is remembered', async ({ page }) => {
	const problems = watchForProblems(page);
	await unlock(page);
	await expect(page.getByTestId('open-settings')).toHaveText('Settings');
	await page.locator('#language-select').selectOption('zh');
	await expect(page.getByTestId('open-settings')).toHaveText('设置');
	await expect(page.getByTestId('open-history')).toHaveText('历史');
	await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
	await page.reload();
	await expect(page.getByTestId('open-settings')).toHaveText('设置');
	await page.locator('#language-select').selectOption('en');
	await expect(page.getByTestId('open-settings')).toHaveText('Settings');
	await expect(page.locator('html')).toHaveAttribute('lang', 'en');
	expect(problems).toEqual([]);
});

test('the dark theme applies and survives a reload', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	await unlock(page);
	await page.locator('#theme-select').selectOption('dark');
	await expect(page.locator('html')).toHaveClass(/dark/);
	const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
	await page.reload();
	await expect(page.locator('html')).toHaveClass(/dark/);
	expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(background);
	await screenshot(page, testInfo, 'panel-dark');
	await page.setViewportSize({ width: 390, height: 844 });
	await screenshot(page, testInfo, 'panel-dark-phone');
	await page.locator('#theme-select').selectOption('light');
	await expect(page.locator('html')).not.toHaveClass(/dark/);
	expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(background);
	expect(problems).toEqual([]);
});
