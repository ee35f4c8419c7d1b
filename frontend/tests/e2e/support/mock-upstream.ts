import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gradientPng } from './png';

/**
 * A real OpenAI-compatible image upstream on loopback for the browser tests.
 * Behaviour is chosen by words in the prompt, so each test drives it through the UI:
 *   "[slow]" → answers after 30 s (long enough to cancel),
 *   "[fail]" → HTTP 500 with an upstream error message,
 *   "[hold:NAME]" → waits until the test releases NAME (see releaseHeld in panel.ts),
 *   anything else → `n` distinct PNG images (b64_json) right away.
 * Edits (multipart) always succeed with one image per `n`.
 *
 * Control routes for the tests: `GET /__held/NAME` answers how many requests NAME
 * holds; `POST /__release/NAME` answers them all (and every later one at once).
 */
export const SLOW_MARK = '[slow]';
export const FAIL_MARK = '[fail]';
export const FAIL_MESSAGE = 'mock upstream refused the prompt';
const HOLD_RE = /\[hold:([\w-]+)\]/;

/** A prompt marker that keeps the upstream answer back until `name` is released. */
export function holdMark(name: string): string {
	return `[hold:${name}]`;
}

let counter = 0;

async function readBody(req: IncomingMessage): Promise<Buffer> {
	const parts: Buffer[] = [];
	for await (const part of req) parts.push(part as Buffer);
	return Buffer.concat(parts);
}

function fieldOf(body: Buffer, contentType: string, name: string): string | null {
	if (contentType.startsWith('application/json')) {
		try {
			const value = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[name];
			return value === undefined || value === null ? null : String(value);
		} catch {
			return null;
		}
	}
	// multipart: find `name="field"` and read the text after the blank line.
	const text = body.toString('latin1');
	const match = new RegExp(`name="${name}"\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n([^\\r\\n]*)`).exec(text);
	return match?.[1] !== undefined ? Buffer.from(match[1], 'latin1').toString('utf8') : null;
}

export function startMockUpstream(): Promise<{ server: Server; url: string }> {
	/** Answers waiting for their name to be released. */
	const held = new Map<string, Set<() => void>>();
	const released = new Set<string>();

	function control(method: string, path: string): { status: number; body: unknown } | null {
		const match = /^\/__(held|release)\/([\w-]+)$/.exec(path);
		if (!match) return null;
		const [, action, name] = match as unknown as [string, string, string];
		const waiting = held.get(name) ?? new Set<() => void>();
		if (action === 'held' && method === 'GET') return { status: 200, body: { held: waiting.size } };
		if (action === 'release' && method === 'POST') {
			released.add(name);
			held.delete(name);
			for (const answer of waiting) answer();
			return { status: 200, body: { released: waiting.size } };
		}
		return { status: 405, body: { error: { message: 'method not allowed' } } };
	}

	const server = createServer(async (req, res) => {
		const body = await readBody(req);
		const contentType = req.headers['content-type'] ?? '';
		const path = req.url ?? '/';
		const controlled = control(req.method ?? 'GET', path);
		if (controlled) {
			res.writeHead(controlled.status, { 'content-type': 'application/json' });
			res.end(JSON.stringify(controlled.body));
			return;
		}
		if (!path.endsWith('/images/generations') && !path.endsWith('/images/edits')) {
			res.writeHead(404, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ error: { message: 'no route' } }));
			return;
		}
		const prompt = fieldOf(body, contentType, 'prompt') ?? '';
		const n = Math.max(1, Math.min(10, Number(fieldOf(body, contentType, 'n') ?? '1') || 1));
		if (prompt.includes(SLOW_MARK)) {
			const timer = setTimeout(() => respond(), 30_000);
			res.on('close', () => clearTimeout(timer));
			return;
		}
		const hold = HOLD_RE.exec(prompt)?.[1];
		if (hold !== undefined && !released.has(hold)) {
			const waiting = held.get(hold) ?? new Set<() => void>();
			held.set(hold, waiting);
			const answer = () => respond();
			waiting.add(answer);
			res.on('close', () => waiting.delete(answer));
			return;
		}
		if (prompt.includes(FAIL_MARK)) {
			res.writeHead(500, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ error: { message: FAIL_MESSAGE, type: 'server_error' } }));
			return;
		}
		respond();

		function respond(): void {
			const data = Array.from({ length: n }, () => ({
				b64_json: gradientPng(64, 64, ++counter).toString('base64')
			}));
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ created: Math.floor(Date.now() / 1000), data }));
		}
	});
	return new Promise((resolve) => {
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			resolve({ server, url: `http://127.0.0.1:${port}` });
		});
	});
}
