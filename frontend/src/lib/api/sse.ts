/**
 * A small EventSource wrapper: parses JSON `data`, reconnects the EventSource way,
 * and stops for good on close().
 *
 * When a stream drops (network error, the server ended it) the browser is already
 * reconnecting by itself (`readyState` CONNECTING), so the same EventSource is kept.
 * Only when the browser gave up (CLOSED: an HTTP error such as 401 or 429, or a
 * non-stream answer) is a new one opened, after an exponential backoff.
 */
export interface StreamHandlers {
	/** Called with the parsed JSON payload of each named event. */
	events: Record<string, (data: unknown) => void>;
	/** The stream (re)opened. */
	onOpen?: () => void;
	/** The stream dropped; `attempt` counts consecutive failures. */
	onDrop?: (attempt: number) => void;
}

export interface StreamHandle {
	close(): void;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;

export function openStream(url: string, handlers: StreamHandlers): StreamHandle {
	let source: EventSource | null = null;
	let timer: ReturnType<typeof setTimeout> | null = null;
	let attempt = 0;
	let closed = false;

	function connect(): void {
		timer = null;
		if (closed) return;
		const es = new EventSource(url, { withCredentials: true });
		source = es;
		es.onopen = () => {
			attempt = 0;
			handlers.onOpen?.();
		};
		for (const [name, handler] of Object.entries(handlers.events)) {
			es.addEventListener(name, (event) => {
				let data: unknown;
				try {
					data = JSON.parse((event as MessageEvent<string>).data);
				} catch {
					return;
				}
				handler(data);
			});
		}
		es.onerror = () => {
			if (closed || source !== es) return;
			attempt += 1;
			handlers.onDrop?.(attempt);
			if (es.readyState !== EventSource.CLOSED) return;
			source = null;
			const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt - 1, 5));
			timer = setTimeout(connect, delay);
		};
	}

	connect();
	return {
		close() {
			closed = true;
			if (timer) clearTimeout(timer);
			timer = null;
			source?.close();
			source = null;
		}
	};
}
