import { writable, get } from 'svelte/store';
import { api, query } from '$lib/api/client';
import type { Schema } from '$lib/api/types';

export type GalleryEntry = Schema<'GalleryEntry'>;
export type GalleryResponse = Schema<'GalleryResponse'>;
export type FilterOptions = Schema<'FilterOptions'>;
export type BatchResult = Schema<'BatchResult'>;

/** Images per page. */
export const PAGE_SIZE = 24;

/** The gallery's state as kept in the URL query (so reload and Back restore it). */
export interface GalleryFilters {
	prompt: string;
	model: string;
	preset: string;
	size: string;
	/** YYYY-MM-DD, local calendar day. */
	from: string;
	/** YYYY-MM-DD, local calendar day. */
	to: string;
	/** '' = all, 'true' = favourites only, 'false' = not favourites. */
	favorite: '' | 'true' | 'false';
}

export interface GalleryUrlState {
	filters: GalleryFilters;
	page: number;
	/** The image open in the lightbox, if any. */
	image: string | null;
}

export const emptyFilters: GalleryFilters = {
	prompt: '',
	model: '',
	preset: '',
	size: '',
	from: '',
	to: '',
	favorite: ''
};

/** URL query keys owned by the gallery; every other key is left alone. */
export const URL_KEYS = {
	prompt: 'q',
	model: 'model',
	preset: 'preset',
	size: 'size',
	from: 'from',
	to: 'to',
	favorite: 'favorite',
	page: 'page',
	image: 'image'
} as const;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function readUrlState(params: URLSearchParams): GalleryUrlState {
	const text = (key: string) => (params.get(key) ?? '').trim();
	const fav = text(URL_KEYS.favorite);
	const from = text(URL_KEYS.from);
	const to = text(URL_KEYS.to);
	const pageNo = Number.parseInt(text(URL_KEYS.page), 10);
	const image = text(URL_KEYS.image);
	return {
		filters: {
			prompt: params.get(URL_KEYS.prompt) ?? '',
			model: text(URL_KEYS.model),
			preset: text(URL_KEYS.preset),
			size: text(URL_KEYS.size),
			from: DATE_RE.test(from) ? from : '',
			to: DATE_RE.test(to) ? to : '',
			favorite: fav === 'true' || fav === 'false' ? fav : ''
		},
		page: Number.isFinite(pageNo) && pageNo >= 1 ? pageNo : 1,
		image: image === '' ? null : image
	};
}

/** A copy of `url` with the gallery's keys replaced by `state`; defaults are left out. */
export function writeUrlState(url: URL, state: GalleryUrlState): URL {
	const next = new URL(url);
	const params = next.searchParams;
	const set = (key: string, value: string) => {
		if (value === '') params.delete(key);
		else params.set(key, value);
	};
	set(URL_KEYS.prompt, state.filters.prompt.trim() === '' ? '' : state.filters.prompt);
	set(URL_KEYS.model, state.filters.model);
	set(URL_KEYS.preset, state.filters.preset);
	set(URL_KEYS.size, state.filters.size);
	set(URL_KEYS.from, state.filters.from);
	set(URL_KEYS.to, state.filters.to);
	set(URL_KEYS.favorite, state.filters.favorite);
	set(URL_KEYS.page, state.page > 1 ? String(state.page) : '');
	set(URL_KEYS.image, state.image ?? '');
	return next;
}

export function hasFilters(filters: GalleryFilters): boolean {
	return (Object.keys(filters) as (keyof GalleryFilters)[]).some((key) => filters[key].trim() !== '');
}

/** A local calendar day as an ISO instant: the start (from) or the last microsecond (to). */
function localDayBound(day: string, end: boolean): string {
	const [y = NaN, m = NaN, d = NaN] = day.split('-').map((part) => Number.parseInt(part, 10));
	const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d, 0, 0, 0, 0);
	if (Number.isNaN(date.getTime())) return day;
	return date.toISOString();
}

/** The `/api/gallery` query for a filter set (the server's date filters are instants in UTC). */
export function galleryQuery(
	filters: GalleryFilters,
	extra: Record<string, string | number | boolean | null | undefined> = {}
): string {
	return query({
		prompt: filters.prompt.trim(),
		model: filters.model,
		preset: filters.preset,
		size: filters.size,
		date_from: filters.from ? localDayBound(filters.from, false) : '',
		date_to: filters.to ? localDayBound(filters.to, true) : '',
		favorite: filters.favorite,
		...extra
	});
}

export function fetchGalleryPage(
	filters: GalleryFilters,
	page: number,
	signal?: AbortSignal
): Promise<GalleryResponse> {
	return api.get<GalleryResponse>(
		`/api/gallery${galleryQuery(filters, { page, page_size: PAGE_SIZE })}`,
		{ signal }
	);
}

export async function fetchTotalBytes(filters: GalleryFilters): Promise<{ total: number; bytes: number }> {
	const response = await api.get<GalleryResponse>(
		`/api/gallery${galleryQuery(filters, {
			page: 1,
			page_size: 1,
			include_total_bytes: true,
			include_filter_options: false
		})}`
	);
	return { total: response.total, bytes: response.total_bytes };
}

export function fetchEntry(id: string): Promise<GalleryEntry> {
	return api.get<GalleryEntry>(`/api/gallery/${encodeURIComponent(id)}`);
}

export function setFavorite(id: string, favorite: boolean): Promise<GalleryEntry> {
	const body: Schema<'FavoriteBody'> = { favorite };
	return api.patch<GalleryEntry>(`/api/gallery/${encodeURIComponent(id)}/favorite`, body);
}

export function batchFavorite(ids: string[], favorite: boolean): Promise<BatchResult> {
	const body: Schema<'BatchFavoriteRequest'> = { ids, favorite };
	return api.patch<BatchResult>('/api/gallery/batch/favorite', body);
}

export function batchDelete(ids: string[]): Promise<BatchResult> {
	const body: Schema<'BatchRequest'> = { ids };
	return api.post<BatchResult>('/api/gallery/batch/delete', body);
}

export function deleteAll(): Promise<{ status: string; message?: string }> {
	return api.delete<{ status: string; message?: string }>('/api/gallery');
}

// --- media URLs -------------------------------------------------------------

export function imageUrl(entry: GalleryEntry): string {
	return entry.image_url ?? `/api/image/${encodeURIComponent(entry.filename)}`;
}

export function thumbUrl(entry: GalleryEntry): string {
	return entry.thumbnail_url ?? `/api/thumb/${encodeURIComponent(entry.filename)}`;
}

export function downloadUrl(entry: GalleryEntry): string {
	return `/api/download/${encodeURIComponent(entry.filename)}`;
}

export function formatBytes(bytes: number): string {
	if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
	const units = ['KB', 'MB', 'GB', 'TB'];
	let value = bytes / 1024;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

// --- delayed delete with undo -----------------------------------------------

/** How long a single delete can be undone before the DELETE is sent. */
export const UNDO_MS = 5_000;

/** Ids hidden from the grid while their delete is pending. */
export const pendingDeletes = writable<Set<string>>(new Set());

interface Pending {
	timer: ReturnType<typeof setTimeout>;
	onDone: (result: { ok: true } | { ok: false; message: string }) => void;
}
const pending = new Map<string, Pending>();

function setHidden(id: string, hidden: boolean): void {
	pendingDeletes.update((set) => {
		const next = new Set(set);
		if (hidden) next.add(id);
		else next.delete(id);
		return next;
	});
}

async function sendDelete(id: string): Promise<void> {
	const item = pending.get(id);
	pending.delete(id);
	if (!item) return;
	try {
		await api.delete(`/api/gallery/${encodeURIComponent(id)}`);
		item.onDone({ ok: true });
	} catch (error) {
		const status = (error as { status?: number }).status;
		if (status === 404) {
			// Already gone (deleted elsewhere): the outcome the user asked for.
			item.onDone({ ok: true });
		} else {
			setHidden(id, false);
			item.onDone({ ok: false, message: error instanceof Error ? error.message : String(error) });
		}
		return;
	}
	// Keep it hidden until the caller reloads the page; then forget it.
	setHidden(id, false);
}

/** Hide an image now and delete it for real after {@link UNDO_MS} unless undone. */
export function scheduleDelete(
	id: string,
	onDone: (result: { ok: true } | { ok: false; message: string }) => void
): void {
	if (pending.has(id)) return;
	setHidden(id, true);
	const timer = setTimeout(() => void sendDelete(id), UNDO_MS);
	pending.set(id, { timer, onDone });
}

/** Cancel a pending delete; returns false if it was already sent. */
export function undoDelete(id: string): boolean {
	const item = pending.get(id);
	if (!item) return false;
	clearTimeout(item.timer);
	pending.delete(id);
	setHidden(id, false);
	return true;
}

export function isDeletePending(id: string): boolean {
	return pending.has(id) || get(pendingDeletes).has(id);
}

/** The page is going away: send every pending delete now, surviving the unload. */
export function flushDeletes(): void {
	for (const [id, item] of pending) {
		clearTimeout(item.timer);
		try {
			void fetch(`/api/gallery/${encodeURIComponent(id)}`, {
				method: 'DELETE',
				credentials: 'same-origin',
				keepalive: true,
				headers: { Accept: 'application/json' }
			}).catch(() => undefined);
		} catch {
			// nothing more can be done during unload
		}
	}
	pending.clear();
}

if (typeof window !== 'undefined') {
	window.addEventListener('pagehide', flushDeletes);
}
