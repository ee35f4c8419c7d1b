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

/** SIGTERM the process global setup started, SIGKILL it if it lingers. */
async function stop(pidText: string | undefined): Promise<void> {
	const pid = Number(pidText);
	if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
	process.kill(pid, 'SIGTERM');
	const deadline = Date.now() + 5_000;
	while (alive(pid) && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export default async function globalTeardown(config: FullConfig): Promise<void> {
	const mock = (globalThis as { mockUpstream?: Server }).mockUpstream;
	mock?.closeAllConnections();
	mock?.close();
	await stop(process.env.PANEL_PID);
	await stop(process.env.S3_SERVER_PID);

	const out = config.projects[0]?.outputDir ?? path.resolve('test-results');
	const logs: [string | undefined, string][] = [
		[process.env.PANEL_LOG, 'panel-server.log'],
		[process.env.S3_LOG, 's3-server.log']
	];
	for (const [log, name] of logs) {
		if (log && existsSync(log)) {
			mkdirSync(out, { recursive: true });
			copyFileSync(log, path.join(out, name));
		}
	}
	const tmp = process.env.PANEL_TMP_DIR;
	if (tmp && path.basename(tmp).startsWith('gpt-image-panel-e2e-')) {
		rmSync(tmp, { recursive: true, force: true });
	}
}
