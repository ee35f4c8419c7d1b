import { writable } from 'svelte/store';
import { ApiError } from '$lib/api/client';
import { getSync, type GallerySyncJob } from '$lib/api/sync';

/**
 * The last real R2 backup started from this browser. The server has no "latest sync"
 * call, so its job id is kept in localStorage and its status is read from the job.
 */
const STORAGE_KEY = 'gpt-image-panel.last-backup';

export const lastBackup = writable<GallerySyncJob | null>(null);

/** A real backup started or moved on: remember it and show its status. */
export function rememberBackup(job: GallerySyncJob): void {
	localStorage.setItem(STORAGE_KEY, job.job_id);
	lastBackup.set(job);
}

/** The remembered backup's status, or null when there is none or the server no longer knows it. */
export async function loadLastBackup(signal?: AbortSignal): Promise<GallerySyncJob | null> {
	const jobId = localStorage.getItem(STORAGE_KEY);
	if (!jobId) return null;
	try {
		const job = await getSync(jobId, signal);
		// A backup started meanwhile is newer than this answer.
		if (localStorage.getItem(STORAGE_KEY) !== jobId) return null;
		lastBackup.set(job);
		return job;
	} catch (error) {
		const forgotten = error instanceof ApiError && error.status === 404;
		if (forgotten && localStorage.getItem(STORAGE_KEY) === jobId) {
			localStorage.removeItem(STORAGE_KEY);
			lastBackup.set(null);
		}
		return null;
	}
}

/** `2026-12-06 10:00 UTC` from the server's RFC 3339 time (the text itself when it is not one). */
export function shortUtc(timestamp: string): string {
	const date = new Date(timestamp);
	if (Number.isNaN(date.getTime())) return timestamp;
	return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
