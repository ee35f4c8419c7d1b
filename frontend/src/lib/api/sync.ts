import { api } from './client';
import type { Schema } from './types';

/**
 * R2 backup syncs of the gallery: start one (a dry run only counts what would be
 * uploaded), read its status, and the URLs its progress is followed on.
 */
export type GallerySyncJob = Schema<'GallerySyncJobStatus'>;
export type GallerySyncRequest = Schema<'GallerySyncRequest'>;

export function startSync(request: GallerySyncRequest): Promise<GallerySyncJob> {
	return api.post<GallerySyncJob>('/api/gallery/sync-jobs', request);
}

export function syncStatusUrl(jobId: string): string {
	return `/api/gallery/sync-jobs/${encodeURIComponent(jobId)}`;
}

export function syncEventsUrl(jobId: string): string {
	return `${syncStatusUrl(jobId)}/events`;
}

export function getSync(jobId: string, signal?: AbortSignal): Promise<GallerySyncJob> {
	return api.get<GallerySyncJob>(syncStatusUrl(jobId), { signal });
}
