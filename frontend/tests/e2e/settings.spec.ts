import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test, type Locator, type Page, type TestInfo } from '@playwright/test';
import { mockUpstreamUrl, screenshot, unlock, watchForProblems } from './support/panel';

test.use({ baseURL: process.env.PANEL_URL });

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core (WCAG 2 A/AA) inside one element; moderate and worse violations. */
async function violations(page: Page, selector: string): Promise<string[]> {
	await page.addScriptTag({ content: AXE_SOURCE });
	const found = await page.evaluate(async (target) => {
		interface Violation {
			id: string;
			impact: string | null;
			help: string;
			nodes: { target: string[] }[];
		}
		const axe = (
			window as unknown as {
				axe: { run: (context: string, options: object) => Promise<{ violations: Violation[] }> };
			}
		).axe;
		const result = await axe.run(target, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa'] });
		return result.violations.map(
			(v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`
		);
	}, selector);
	return found;
}
test.describe.configure({ mode: 'serial' });

function drawerOf(page: Page): Locator {
	return page.locator('#drawer-settings');
}

async function openSettings(page: Page): Promise<Locator> {
	await page.getByTestId('open-settings').click();
	const drawer = drawerOf(page);
	await expect(drawer).toBeVisible();
	await expect(drawer.locator('#settings-preset-select')).toBeVisible();
	return drawer;
}

async function closeSettings(page: Page): Promise<void> {
	await page.keyboard.press('Escape');
	await expect(drawerOf(page)).toHaveCount(0);
}

async function noHorizontalOverflow(page: Page): Promise<void> {
	const overflow = await page.evaluate(() => {
		const panel = document.getElementById('drawer-settings');
		const doc = document.documentElement.scrollWidth - document.documentElement.clientWidth;
		const inner = panel ? panel.scrollWidth - panel.clientWidth : 0;
		return Math.max(doc, inner);
	});
	expect(overflow).toBeLessThanOrEqual(0);
}

async function shoot(page: Page, testInfo: TestInfo, theme: 'light' | 'dark', name: string): Promise<void> {
	await page.locator('#theme-select').selectOption(theme);
	await openSettings(page);
	await noHorizontalOverflow(page);
	await screenshot(page, testInfo, name);
	// The lower sections (optimizer, R2, Overall Config, Save bar).
	await page.locator('#drawer-settings > div').last().evaluate((body) => body.scrollTo(0, body.scrollHeight));
	await screenshot(page, testInfo, `${name}-bottom`);
	await closeSettings(page);
}

test('settings drawer: create, save, activate, health check, overall config', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	await unlock(page);
	const drawer = await openSettings(page);
	await expect(page.getByRole('dialog', { name: 'Settings' })).toBeVisible();

	// A new preset pointing at the mock upstream, with a literal key.
	const name = `E2E settings ${Date.now()}`;
	await drawer.getByTestId('settings-preset-new').click();
	await expect(drawer.getByLabel('Preset name')).toBeFocused();
	await drawer.getByLabel('Preset name').fill(name);
	await drawer.getByLabel('Base URL').fill(`${mockUpstreamUrl()}/v1`);
	await drawer.getByLabel('API path').selectOption('/v1/images/generations');
	await drawer.getByLabel('Default model', { exact: true }).fill('gpt-image-1');
	await drawer.getByLabel('Default response format').selectOption('b64_json');
	await drawer.locator('#settings-api-key').fill('sk-e2e-settings-key-123456');
	await drawer.getByTestId('settings-save').click();
	await expect(page.getByTestId('toasts')).toContainText(`Preset “${name}” created`);

	const select = drawer.getByLabel('Preset', { exact: true });
	await expect(select.locator('option:checked')).toHaveText(`${name} (active)`);
	await expect(drawer.getByTestId('settings-preset-active')).toBeVisible();
	// The stored key comes back masked, with its source.
	await expect(drawer.getByTestId('settings-api-key-masked')).toContainText('sk-e***3456');
	await expect(drawer.getByTestId('settings-api-key-source')).toHaveText('Stored');
	await expect(drawer.locator('#settings-api-key')).toHaveValue('');
	await expect(drawer.getByLabel('Default response format')).toHaveValue('b64_json');

	// A server-side validation error is shown next to the form.
	await drawer.getByLabel('Base URL').fill('ftp://example.com/v1');
	await drawer.getByTestId('settings-save').click();
	const saveError = drawer.getByTestId('settings-save-error');
	await expect(saveError).toBeVisible();
	await expect(saveError).toHaveAttribute('role', 'alert');
	await expect(saveError).toContainText('API URL');

	// Save a valid change: empty key input keeps the stored key.
	await drawer.getByLabel('Base URL').fill(`${mockUpstreamUrl()}/v1`);
	await drawer.getByLabel('Default model', { exact: true }).fill('gpt-image-1-e2e');
	// Number inputs hand Svelte numbers, not text; an edited timeout still saves.
	await drawer.getByLabel('Timeout (seconds)').fill('45');
	await drawer.getByTestId('settings-save').click();
	await expect(page.getByTestId('toasts')).toContainText('Settings saved');
	await expect(saveError).toHaveCount(0);
	await expect(drawer.getByLabel('Default model', { exact: true })).toHaveValue('gpt-image-1-e2e');
	await expect(drawer.getByLabel('Timeout (seconds)')).toHaveValue('45');
	await expect(drawer.getByTestId('settings-api-key-masked')).toContainText('sk-e***3456');

	// Activate another preset, then ours again.
	const ourId = await select.inputValue();
	const otherId = await select
		.locator('option')
		.evaluateAll((options, mine) => options.map((o) => (o as HTMLOptionElement).value).find((v) => v !== mine), ourId);
	expect(otherId, 'a second preset exists').toBeTruthy();
	await select.selectOption(otherId ?? '');
	await drawer.getByTestId('settings-preset-activate').click();
	await expect(drawer.getByTestId('settings-preset-active')).toBeVisible();
	await select.selectOption(ourId);
	await expect(drawer.getByTestId('settings-preset-active')).toHaveCount(0);
	await drawer.getByTestId('settings-preset-activate').click();
	await expect(page.getByTestId('toasts')).toContainText(`Preset “${name}” is now active`);
	await expect(drawer.getByTestId('settings-preset-active')).toBeVisible();
	await expect(select.locator('option:checked')).toHaveText(`${name} (active)`);

	// Health check: one row per check, each with pass/fail.
	await drawer.getByTestId('settings-health-run').click();
	const checks = drawer.getByTestId('settings-health-check');
	await expect(checks.first()).toBeVisible();
	expect(await checks.count()).toBeGreaterThanOrEqual(3);
	await expect(drawer.locator('[data-testid="settings-health-check"][data-check="api_path"]')).toHaveAttribute(
		'data-status',
		'ok'
	);
	await expect(drawer.locator('[data-testid="settings-health-check"][data-check="api_key"]')).toContainText('Pass');
	await expect(drawer.getByTestId('settings-health-overall')).toBeVisible();
	await drawer.getByTestId('settings-health').scrollIntoViewIfNeeded();
	await screenshot(page, testInfo, 'settings-health-check');

	// R2 test shows a result (or the server's reason) without saving.
	await drawer.getByTestId('settings-r2-test').click();
	await expect(drawer.getByTestId('settings-r2').or(drawer.getByTestId('settings-r2-error'))).toBeVisible();

	// Optimizer test probes the saved endpoint: the mock has no chat route, so it reports a 404 failure.
	const optimizerUrl = drawer.locator('#settings-optimizer-url');
	await optimizerUrl.fill(`${mockUpstreamUrl()}/v1/chat/completions`);
	await drawer.getByTestId('settings-save').click();
	await expect(page.getByTestId('toasts')).toContainText('Settings saved');
	await drawer.getByTestId('settings-optimizer-test').click();
	const optimizerResult = drawer.getByTestId('settings-optimizer-result');
	await expect(optimizerResult).toContainText('Fail');
	await expect(optimizerResult).toContainText('HTTP 404');
	await optimizerUrl.fill('');
	await drawer.getByTestId('settings-save').click();
	await drawer.getByTestId('settings-optimizer-test').click();
	await expect(optimizerResult).toContainText('Prompt optimizer endpoint URL is not configured');

	// System prompt dialog: loads the prompt; Escape closes only the dialog.
	await drawer.getByTestId('settings-system-prompt-open').click();
	const promptDialog = page.getByRole('dialog', { name: 'Optimizer system prompt' });
	await expect(promptDialog).toBeVisible();
	await expect(promptDialog.getByLabel('System prompt')).not.toHaveValue('');
	await page.keyboard.press('Escape');
	await expect(promptDialog).toBeHidden();
	await expect(drawer).toBeVisible();

	// Overall Config: source badges, edit a value, reset it to env.
	await drawer.getByTestId('settings-overall-open').click();
	const overall = page.getByRole('dialog', { name: 'Overall Config' });
	await expect(overall).toBeVisible();
	const items = overall.getByTestId('overall-config-item');
	await expect(items.first()).toBeVisible();
	expect(await items.count()).toBeGreaterThan(5);
	await expect(overall.getByTestId('overall-config-source').first()).toHaveText(/^(Env|Default|Override)$/);
	await expect(overall.getByTestId('overall-config-restart').first()).toBeVisible();
	await screenshot(page, testInfo, 'settings-overall-config');

	await overall.getByLabel('Filter settings').fill('SLOW_GALLERY_QUERY_MS');
	const slow = overall.locator('[data-testid="overall-config-item"][data-name="SLOW_GALLERY_QUERY_MS"]');
	await expect(slow).toBeVisible();
	await slow.getByRole('button', { name: 'Edit SLOW_GALLERY_QUERY_MS' }).click();
	await slow.getByLabel('New value for SLOW_GALLERY_QUERY_MS').fill('250');
	await slow.getByRole('button', { name: 'Save value' }).click();
	await expect(slow.getByTestId('overall-config-source')).toHaveText('Override');
	await expect(overall.getByTestId('overall-config-notice')).toHaveText('SLOW_GALLERY_QUERY_MS saved');
	await expect(slow.getByTestId('overall-config-value')).toContainText('250');
	await screenshot(page, testInfo, 'settings-overall-config-override');
	await slow.getByRole('button', { name: 'Reset SLOW_GALLERY_QUERY_MS to the environment value' }).click();
	await expect(slow.getByTestId('overall-config-source')).not.toHaveText('Override');
	await page.keyboard.press('Escape');
	await expect(overall).toBeHidden();
	await expect(drawer).toBeVisible();

	// Escape closes the drawer and returns focus to the header button.
	await closeSettings(page);
	await expect(page.getByTestId('open-settings')).toBeFocused();
	expect(problems).toEqual([]);
});

test('a preset can be deleted after a confirmation', async ({ page }) => {
	const problems = watchForProblems(page);
	await unlock(page);
	const drawer = await openSettings(page);
	const select = drawer.getByLabel('Preset', { exact: true });
	// The form may render before its own settings load has picked a preset; wait for the pick.
	await expect(select).not.toHaveValue('');
	const previousActive = await select.inputValue();

	const name = `E2E delete ${Date.now()}`;
	await drawer.getByTestId('settings-preset-new').click();
	await drawer.getByLabel('Preset name').fill(name);
	await drawer.getByLabel('Base URL').fill(`${mockUpstreamUrl()}/v1`);
	await drawer.getByTestId('settings-save').click();
	await expect(page.getByTestId('toasts')).toContainText(`Preset “${name}” created`);
	await expect(select.locator('option:checked')).toHaveText(`${name} (active)`);

	await drawer.getByTestId('settings-preset-delete').click();
	const confirm = drawer.getByRole('button', { name: 'Delete preset' });
	await expect(confirm).toBeFocused();
	await confirm.click();
	await expect(page.getByTestId('toasts')).toContainText(`Preset “${name}” deleted`);
	await expect(select.locator('option', { hasText: name })).toHaveCount(0);

	// Put back whichever preset was active before, for the specs that follow.
	await select.selectOption(previousActive);
	if (await drawer.getByTestId('settings-preset-activate').isEnabled()) {
		await drawer.getByTestId('settings-preset-activate').click();
	}
	await expect(drawer.getByTestId('settings-preset-active')).toBeVisible();
	expect(problems).toEqual([]);
});

test('settings drawer screenshots: desktop and phone, light and dark', async ({ page }, testInfo) => {
	const problems = watchForProblems(page);
	await unlock(page);
	await shoot(page, testInfo, 'light', 'settings-desktop-light');
	await shoot(page, testInfo, 'dark', 'settings-desktop-dark');
	await page.setViewportSize({ width: 390, height: 844 });
	await shoot(page, testInfo, 'light', 'settings-phone-light');
	await shoot(page, testInfo, 'dark', 'settings-phone-dark');
	const drawer = await openSettings(page);
	await drawer.getByTestId('settings-overall-open').click();
	await expect(page.getByTestId('overall-config-item').first()).toBeVisible();
	await screenshot(page, testInfo, 'settings-overall-config-phone-dark');
	await page.keyboard.press('Escape');
	await closeSettings(page);
	await page.setViewportSize({ width: 360, height: 740 });
	await openSettings(page);
	await noHorizontalOverflow(page);
	await closeSettings(page);
	expect(problems).toEqual([]);
});

test.describe('accessibility', () => {
	// axe is injected as a script, which the panel's CSP (rightly) refuses.
	test.use({ bypassCSP: true });

	test('the drawer and its dialogs pass axe in light and dark', async ({ page }) => {
		await unlock(page);
		for (const theme of ['light', 'dark'] as const) {
			await page.locator('#theme-select').selectOption(theme);
			const drawer = await openSettings(page);
			expect(await violations(page, '#drawer-settings'), `drawer ${theme}`).toEqual([]);

			await drawer.getByTestId('settings-health-run').click();
			await expect(drawer.getByTestId('settings-health-check').first()).toBeVisible();
			await drawer.getByTestId('settings-r2-test').click();
			await expect(drawer.getByTestId('settings-r2').or(drawer.getByTestId('settings-r2-error'))).toBeVisible();
			expect(await violations(page, '#drawer-settings'), `drawer results ${theme}`).toEqual([]);

			await drawer.getByTestId('settings-overall-open').click();
			await expect(page.getByTestId('overall-config-item').first()).toBeVisible();
			expect(await violations(page, '#overall-config'), `overall config ${theme}`).toEqual([]);
			await page.keyboard.press('Escape');

			await drawer.getByTestId('settings-system-prompt-open').click();
			await expect(page.locator('#system-prompt-text')).not.toHaveValue('');
			expect(await violations(page, '#system-prompt'), `system prompt ${theme}`).toEqual([]);
			await page.keyboard.press('Escape');
			await closeSettings(page);
		}
	});
});
