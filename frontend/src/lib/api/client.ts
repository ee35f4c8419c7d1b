import type { ErrorEnvelope } from './types';

/** A failed API call: HTTP status plus the server's human-readable detail. */
export class ApiError extends Error {
	readonly status: number;
	readonly detail: string;
	readonly errorCode: string | null;
	readonly correlationId: string | null;

	constructor(
		status: number,
		detail: string,
		errorCode: string | null = null,
		correlationId: string | null = null
	) {
		super(detail);
		this.name = 'ApiError';
		this.status = status;
		this.detail = detail;
		this.errorCode = errorCode;
		this.correlationId = correlationId;
	}
}

/** status 0 means the request never got an HTTP answer (network failure, abort). */
export const NETWORK_ERROR_STATUS = 0;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
	/** JSON-serialised unless it is FormData (multipart uploads). */
	body?: unknown;
	signal?: AbortSignal;
}

let unauthorizedHandler: (() => void) | null = null;

/** Called when any request answers 401 (the access cookie expired or was revoked). */
export function onUnauthorized(handler: () => void): void {
	unauthorizedHandler = handler;
}

/** For requests made outside {@link request} (XMLHttpRequest uploads) that answered 401. */
export function reportUnauthorized(): void {
	unauthorizedHandler?.();
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
	return typeof value === 'string' && value.trim() !== '' ? value : null;
}

async function readJson(response: Response): Promise<unknown> {
	const text = await response.text();
	if (text === '') return null;
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return undefined;
	}
}

function toApiError(response: Response, payload: unknown): ApiError {
	const fallback = `Request failed (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''})`;
	if (!isRecord(payload)) return new ApiError(response.status, fallback);
	const envelope = payload as Partial<ErrorEnvelope>;
	const detail =
		str(envelope.detail) ?? str(envelope.message) ?? str(envelope.error) ?? fallback;
	return new ApiError(
		response.status,
		detail,
		str(envelope.error_code),
		str(envelope.correlation_id)
	);
}

/**
 * Same-origin JSON request. Resolves with the parsed body on 2xx,
 * rejects with an {@link ApiError} otherwise.
 */
export async function request<T>(
	method: Method,
	path: string,
	options: RequestOptions = {}
): Promise<T> {
	const headers: Record<string, string> = { Accept: 'application/json' };
	const init: RequestInit = {
		method,
		headers,
		credentials: 'same-origin',
		cache: 'no-store',
		signal: options.signal
	};
	if (options.body instanceof FormData) {
		init.body = options.body;
	} else if (options.body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(options.body);
	}

	let response: Response;
	try {
		response = await fetch(path, init);
	} catch (cause) {
		if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
		throw new ApiError(NETWORK_ERROR_STATUS, 'Cannot reach the panel server. Check your connection and try again.');
	}

	const payload = await readJson(response);
	if (response.status === 401 && !path.startsWith('/api/access')) unauthorizedHandler?.();
	if (!response.ok) throw toApiError(response, payload);
	if (payload === undefined) {
		throw new ApiError(response.status, 'The server sent an unexpected response.');
	}
	return payload as T;
}

export const api = {
	get: <T>(path: string, options?: Omit<RequestOptions, 'body'>) =>
		request<T>('GET', path, options),
	post: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
		request<T>('POST', path, { ...options, body }),
	put: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
		request<T>('PUT', path, { ...options, body }),
	patch: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
		request<T>('PATCH', path, { ...options, body }),
	delete: <T>(path: string, body?: unknown, options?: Omit<RequestOptions, 'body'>) =>
		request<T>('DELETE', path, { ...options, body })
};

/** A query string from defined, non-empty values: `?a=1&b=x` or ''. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
	const search = new URLSearchParams();
	for (const [key, value] of Object.entries(params)) {
		if (value === undefined || value === null || value === '') continue;
		search.set(key, String(value));
	}
	const text = search.toString();
	return text ? `?${text}` : '';
}
