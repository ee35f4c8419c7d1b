import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startMockUpstream } from './support/mock-upstream';

export const ACCESS_KEY = 'e2e-secret-key';
const HEALTH_TIMEOUT_MS = 30_000;
const S3_START_TIMEOUT_MS = 15_000;
const S3_BUCKET = 'panel-e2e';
const S3_ACCESS_KEY = 'e2e-r2-key-id';
const S3_SECRET_KEY = 'e2e-r2-secret';

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

/** The child's first stdout line (the S3 test server prints its endpoint there). */
function firstLine(child: ChildProcess, what: string, logFile: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const lines = createInterface({ input: child.stdout! });
		let settled = false;
		const timer = setTimeout(() => fail(`printed nothing within ${S3_START_TIMEOUT_MS / 1000}s`), S3_START_TIMEOUT_MS);
		function fail(reason: string): void {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			child.kill('SIGKILL');
			reject(new Error(`${what} ${reason}. Log:\n${tail(logFile)}`));
		}
		// Every line is read, so a chatty server never blocks on a full pipe; the first is the answer.
		lines.on('line', (line) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			resolve(line.trim());
		});
		child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
		child.once('error', (error) => fail(`failed to start: ${error.message}`));
	});
}

/**
 * The S3-compatible test server (s3s-fs: one folder per bucket, objects as plain files)
 * standing in for R2, when S3_SERVER_BIN names it. Without it the R2 spec fails and says how to build it.
 */
async function startS3Server(tmp: string): Promise<void> {
	const bin = process.env.S3_SERVER_BIN;
	if (!bin) return;
	const binPath = path.resolve(bin);
	if (!existsSync(binPath)) {
		throw new Error(`S3_SERVER_BIN points to ${binPath}, which does not exist.`);
	}
	const root = path.join(tmp, 's3');
	const logFile = path.join(tmp, 's3-server.log');
	const log = openSync(logFile, 'a');
	const child = spawn(binPath, [root, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY], {
		cwd: tmp,
		env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RUST_BACKTRACE: '1' },
		stdio: ['ignore', 'pipe', log]
	});
	process.on('exit', () => {
		if (child.exitCode === null) child.kill('SIGKILL');
	});
	const endpoint = await firstLine(child, 'S3 test server', logFile);
	if (!/^https?:\/\//.test(endpoint)) {
		child.kill('SIGKILL');
		throw new Error(`S3 test server printed ${JSON.stringify(endpoint)} instead of its endpoint URL.`);
	}
	process.env.S3_SERVER_PID = String(child.pid ?? '');
	process.env.S3_ENDPOINT = endpoint;
	process.env.S3_BUCKET = S3_BUCKET;
	process.env.S3_ACCESS_KEY = S3_ACCESS_KEY;
	process.env.S3_SECRET_KEY = S3_SECRET_KEY;
	process.env.S3_ROOT = root;
	process.env.S3_LOG = logFile;
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

	await startS3Server(tmp);

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
		ALLOW_PLAINTEXT_SECRETS: 'true',
		// The S3 test server stands in for R2 on a loopback IP, which is not an R2 hostname.
		R2_ENDPOINT_HOST_ALLOWLIST: '127.0.0.1'
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
