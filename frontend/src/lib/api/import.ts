import { ApiError, NETWORK_ERROR_STATUS, reportUnauthorized } from './client';
import type { components } from './schema';

/**
 * Gallery ZIP import: the upload (XMLHttpRequest, for upload progress) and the
 * job status it answers with.
 */
type Schemas = components['schemas'];

export type ImportSkippedEntry = Schemas['ImportSkip'];
export type GalleryImportJobStatus = Schemas['GalleryImportJobStatus'];

export function importEventsUrl(jobId: string): string {
	return `/api/gallery/import-jobs/${encodeURIComponent(jobId)}/events`;
}

export function importStatusUrl(jobId: string): string {
	return `/api/gallery/import-jobs/${encodeURIComponent(jobId)}`;
}

export interface UploadProgress {
	sent: number;
	total: number;
}

export interface ImportUpload {
	/** Resolves with the accepted job (202), rejects with an {@link ApiError} or an AbortError. */
	done: Promise<GalleryImportJobStatus>;
	abort(): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
	return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function parse(body: string): unknown {
	try {
		return JSON.parse(body) as unknown;
	} catch {
		return undefined;
	}
}

function failure(xhr: XMLHttpRequest): ApiError {
	const payload = parse(xhr.responseText);
	const fallback = `Request failed (HTTP ${xhr.status}${xhr.statusText ? ` ${xhr.statusText}` : ''})`;
	if (!isRecord(payload)) return new ApiError(xhr.status, fallback);
	const detail = text(payload.detail) ?? text(payload.message) ?? text(payload.error) ?? fallback;
	return new ApiError(xhr.status, detail, text(payload.error_code), text(payload.correlation_id));
}

/**
 * Upload `file` as the `archive` field of `POST /api/import?async_job=true`.
 * Same origin, so the access cookie goes along and the browser's Origin /
 * Sec-Fetch-Site headers satisfy the CSRF check, as for every fetch in client.ts.
 */
export function uploadImport(file: File, onprogress: (progress: UploadProgress) => void): ImportUpload {
	const xhr = new XMLHttpRequest();
	const done = new Promise<GalleryImportJobStatus>((resolve, reject) => {
		xhr.open('POST', '/api/import?async_job=true');
		xhr.setRequestHeader('Accept', 'application/json');
		xhr.upload.onprogress = (event) => {
			onprogress({ sent: event.loaded, total: event.lengthComputable ? event.total : file.size });
		};
		xhr.onload = () => {
			if (xhr.status === 401) reportUnauthorized();
			if (xhr.status < 200 || xhr.status >= 300) {
				reject(failure(xhr));
				return;
			}
			const payload = parse(xhr.responseText);
			if (!isRecord(payload) || typeof payload.job_id !== 'string') {
				reject(new ApiError(xhr.status, 'The server sent an unexpected response.'));
				return;
			}
			resolve(payload as unknown as GalleryImportJobStatus);
		};
		xhr.onerror = () =>
			reject(new ApiError(NETWORK_ERROR_STATUS, 'Cannot reach the panel server. Check your connection and try again.'));
		xhr.onabort = () => reject(new DOMException('The upload was cancelled', 'AbortError'));
		const form = new FormData();
		form.append('archive', file, file.name);
		xhr.send(form);
	});
	return { done, abort: () => xhr.abort() };
}
