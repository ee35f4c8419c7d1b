import { api, ApiError } from '$lib/api/client';
import { openStream, type StreamHandle } from '$lib/api/sse';
import type { Schema } from '$lib/api/types';

/**
 * Gallery ZIP exports and the job-following shared with imports. The browser
 * downloads every archive itself (a hidden link), so a ZIP never passes through
 * JS memory; progress comes from the job's SSE stream.
 */
export type ExportJob = Schema<'GalleryExportJobStatus'>;

/** `all`: a direct export streamed to the browser; `selected`: a tracked export of ids, packed first. */
export type ExportKind = 'all' | 'selected';

export const TERMINAL_STATUSES = ['success', 'error'];

export function isTerminal(job: { status: string }): boolean {
	return TERMINAL_STATUSES.includes(job.status);
}

export function startExportAll(): Promise<ExportJob> {
	return api.post<ExportJob>('/api/gallery/direct-export-jobs');
}

export function startExportSelected(ids: string[]): Promise<ExportJob> {
	const body: Schema<'GalleryExportRequest'> = { ids };
	return api.post<ExportJob>('/api/gallery/export-jobs', body);
}

function exportBase(kind: ExportKind, jobId: string): string {
	const root = kind === 'all' ? '/api/gallery/direct-export-jobs' : '/api/gallery/export-jobs';
	return `${root}/${encodeURIComponent(jobId)}`;
}

/** Start the browser's own download of `url` (it streams to disk and shows its progress). */
export function startDownload(url: string, filename: string): void {
	const link = document.createElement('a');
	link.href = url;
	link.download = filename;
	link.rel = 'noopener';
	link.hidden = true;
	document.body.append(link);
	link.click();
	link.remove();
}

/** Megabytes with one decimal, for progress lines. */
export function megabytes(bytes: number): string {
	return (Math.max(0, bytes) / (1024 * 1024)).toFixed(1);
}

export function percentOf(part: number, total: number): number {
	if (!(total > 0)) return 0;
	return Math.min(100, Math.max(0, Math.floor((part * 100) / total)));
}

export interface FollowHandlers<T> {
	/** Every status, the terminal one last. */
	onstatus: (job: T) => void;
	/** false while the stream is reconnecting. */
	onconnection?: (connected: boolean) => void;
	/** The job can no longer be read (expired or unknown): following stopped. */
	onlost?: (error: ApiError) => void;
}

/**
 * Follow a gallery job (export or import) over its SSE stream until a terminal
 * status. After a drop the REST status is read once, so an end missed while
 * disconnected is still reported and a job that vanished stops the retries.
 */
export function followJob<T extends { status: string }>(
	eventsUrl: string,
	statusUrl: string,
	event: string,
	handlers: FollowHandlers<T>
): StreamHandle {
	let finished = false;
	const stream = openStream(eventsUrl, {
		events: { [event]: (data) => deliver(data as T) },
		onOpen: () => handlers.onconnection?.(true),
		onDrop: () => {
			if (finished) return;
			handlers.onconnection?.(false);
			void api.get<T>(statusUrl).then(deliver, (error: unknown) => {
				if (error instanceof ApiError && error.status === 404 && !finished) {
					finished = true;
					stream.close();
					handlers.onlost?.(error);
				}
			});
		}
	});

	function deliver(job: T): void {
		if (finished || typeof job !== 'object' || job === null || typeof job.status !== 'string') return;
		if (isTerminal(job)) {
			finished = true;
			stream.close();
		}
		handlers.onstatus(job);
	}

	return {
		close() {
			finished = true;
			stream.close();
		}
	};
}

export function followExport(kind: ExportKind, jobId: string, handlers: FollowHandlers<ExportJob>): StreamHandle {
	const base = exportBase(kind, jobId);
	return followJob<ExportJob>(`${base}/events`, base, 'export', handlers);
}
