import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { FullConfig } from '@playwright/test';

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

export default async function globalTeardown(config: FullConfig): Promise<void> {
	const mock = (globalThis as { mockUpstream?: Server }).mockUpstream;
	mock?.closeAllConnections();
	mock?.close();
	const pid = Number(process.env.PANEL_PID);
	if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
		process.kill(pid, 'SIGTERM');
		const deadline = Date.now() + 5_000;
		while (alive(pid) && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		if (alive(pid)) process.kill(pid, 'SIGKILL');
	}

	const log = process.env.PANEL_LOG;
	if (log && existsSync(log)) {
		const out = config.projects[0]?.outputDir ?? path.resolve('test-results');
		mkdirSync(out, { recursive: true });
		copyFileSync(log, path.join(out, 'panel-server.log'));
	}
	const tmp = process.env.PANEL_TMP_DIR;
	if (tmp && path.basename(tmp).startsWith('gpt-image-panel-e2e-')) {
		rmSync(tmp, { recursive: true, force: true });
	}
}
