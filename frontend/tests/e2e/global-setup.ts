import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMockUpstream } from './support/mock-upstream';

export const ACCESS_KEY = 'e2e-secret-key';
const HEALTH_TIMEOUT_MS = 30_000;

/** Bind 127.0.0.1:0, read the port the kernel picked, release it. */
function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			if (address === null || typeof address === 'string') {
				server.close();
				reject(new Error('could not determine a free port'));
				return;
			}
			const { port } = address;
			server.close(() => resolve(port));
		});
	});
}

function tail(file: string, lines = 40): string {
	try {
		return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
	} catch {
		return '(no server log)';
	}
}

export default async function globalSetup(): Promise<void> {
	const bin = process.env.PANEL_BIN;
	if (!bin) {
		throw new Error(
			'PANEL_BIN is not set. Build the server first and point PANEL_BIN at the binary, e.g.\n' +
				'  PANEL_BIN=$PWD/target/release/gpt-image-panel npm --prefix frontend run test:e2e'
		);
	}
	const binPath = path.resolve(bin);
	if (!existsSync(binPath)) {
		throw new Error(`PANEL_BIN points to ${binPath}, which does not exist.`);
	}

	const tmp = mkdtempSync(path.join(tmpdir(), 'gpt-image-panel-e2e-'));
	const dataDir = path.join(tmp, 'data');
	const imagesDir = path.join(tmp, 'images');
	mkdirSync(dataDir, { recursive: true });
	const logFile = path.join(tmp, 'server.log');
	const log = openSync(logFile, 'a');

	const mock = await startMockUpstream();
	(globalThis as { mockUpstream?: unknown }).mockUpstream = mock.server;
	process.env.MOCK_UPSTREAM_URL = mock.url;

	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;

	// A clean environment: only what a process needs plus the panel's settings,
	// so nothing from the caller's shell (e.g. upstream API URLs) leaks in.
	const env: NodeJS.ProcessEnv = {
		PATH: process.env.PATH ?? '/usr/bin:/bin',
		HOME: tmp,
		TMPDIR: tmpdir(),
		LANG: 'C.UTF-8',
		RUST_LOG: process.env.RUST_LOG ?? 'info',
		RUST_BACKTRACE: '1',
		DATA_DIR: dataDir,
		DATABASE_FILE: path.join(dataDir, 'app.sqlite3'),
		IMAGES_DIR: imagesDir,
		THUMBNAILS_DIR: path.join(imagesDir, 'thumbs'),
		HOST: '127.0.0.1',
		PORT: String(port),
		ACCESS_KEY,
		ACCESS_COOKIE_SECURE: 'false',
		ENABLE_VERSION_CHECK: 'false',
		ACCESS_KEY_COOKIE_NAME: 'gpt_image_access',
		// The mock upstream listens on plain-http loopback; tests type literal keys.
		UPSTREAM_ALLOW_PRIVATE_NETWORK: 'true',
		ALLOW_PLAINTEXT_SECRETS: 'true'
	};

	// cwd = the temp dir, so no stray .env file is picked up.
	const child = spawn(binPath, [], { cwd: tmp, env, stdio: ['ignore', log, log] });
	let exited: string | null = null;
	child.on('exit', (code, signal) => {
		exited = `exited early (code ${code}, signal ${signal})`;
	});
	child.on('error', (error) => {
		exited = `failed to start: ${error.message}`;
	});
	// Never leave the server behind, even if the runner dies.
	process.on('exit', () => {
		if (child.exitCode === null) child.kill('SIGKILL');
	});

	process.env.PANEL_URL = url;
	process.env.PANEL_PID = String(child.pid ?? '');
	process.env.PANEL_TMP_DIR = tmp;
	process.env.PANEL_LOG = logFile;

	const deadline = Date.now() + HEALTH_TIMEOUT_MS;
	for (;;) {
		if (exited !== null) {
			throw new Error(`panel server ${exited}. Log:\n${tail(logFile)}`);
		}
		try {
			const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
			if (response.status === 200) break;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(
				`panel server did not answer 200 on ${url}/health within ${HEALTH_TIMEOUT_MS / 1000}s. Log:\n${tail(logFile)}`
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}
