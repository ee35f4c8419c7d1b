/**
 * A small EventSource wrapper: parses JSON `data`, reconnects with backoff when
 * the stream drops (the server sends no `retry:`), and stops for good on close().
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

const MAX_DELAY_MS = 15_000;

export function openStream(url: string, handlers: StreamHandlers): StreamHandle {
	let source: EventSource | null = null;
	let timer: ReturnType<typeof setTimeout> | null = null;
	let attempt = 0;
	let closed = false;

	function connect(): void {
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
			es.close();
			if (source === es) source = null;
			if (closed) return;
			attempt += 1;
			handlers.onDrop?.(attempt);
			const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** Math.min(attempt - 1, 5));
			timer = setTimeout(connect, delay);
		};
	}

	connect();
	return {
		close() {
			closed = true;
			if (timer) clearTimeout(timer);
			source?.close();
			source = null;
		}
	};
}
