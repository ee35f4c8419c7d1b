import { get, writable } from 'svelte/store';
import { api, ApiError } from '$lib/api/client';
import type { Schema } from '$lib/api/types';
import { announceGalleryChange } from './events';
import { mergeIntoHistory } from './history';
import { isActive, isJobPayload, supersedes, type Job } from './jobState';

export { isActive, type Job } from './jobState';
export type QueuedJob = Schema<'QueuedJob'>;
export type GenerateBody = Schema<'GenerateBody'> & { response_format?: string | null };

/**
 * The jobs shown in the preview: those submitted in this tab and every job the jobs
 * feed (jobsFeed.ts) reports, so jobs started in another tab or by an API client
 * show up too. Their state comes from the feed; this file only records it.
 */
export interface TrackedJob {
	job: Job;
	/** Client clock when the panel first saw it (fallback for elapsed time). */
	since: number;
}

/** Newest first. */
export const trackedJobs = writable<TrackedJob[]>([]);

/** Finished jobs beyond this many leave the preview (active ones always stay). */
const PREVIEW_LIMIT = 12;

function withinLimit(list: TrackedJob[]): TrackedJob[] {
	if (list.length <= PREVIEW_LIMIT) return list;
	const kept = [...list];
	for (let i = kept.length - 1; i >= 0 && kept.length > PREVIEW_LIMIT; i--) {
		if (!isActive(kept[i]!.job)) kept.splice(i, 1);
	}
	return kept;
}

/**
 * A job's state from the server (the jobs feed or a REST read). Unknown jobs are
 * added to the preview; the history drawer gets the state too; the gallery reloads
 * once when the job ends with images.
 */
export function recordJob(job: Job): void {
	let ended = false;
	trackedJobs.update((list) => {
		const index = list.findIndex((item) => item.job.job_id === job.job_id);
		if (index === -1) {
			ended = !isActive(job);
			return withinLimit([{ job, since: Date.now() }, ...list]);
		}
		const current = list[index]!;
		if (!supersedes(job, current.job)) return list;
		ended = isActive(current.job) && !isActive(job);
		const copy = [...list];
		copy[index] = { ...current, job: { ...current.job, ...job } };
		return ended ? withinLimit(copy) : copy;
	});
	mergeIntoHistory(job);
	if (ended && ((job.images?.length ?? 0) > 0 || job.image_url)) announceGalleryChange();
}

/** A job this tab just submitted: shown at once as queued, unless the feed already reported it. */
function track(initial: Partial<Job> & { job_id: string }): void {
	trackedJobs.update((list) => {
		const index = list.findIndex((item) => item.job.job_id === initial.job_id);
		if (index !== -1) {
			// The feed was faster: keep its state, only fill in what it lacks.
			const copy = [...list];
			const current = copy[index]!;
			copy[index] = { ...current, job: { ...initial, ...current.job } as Job };
			return copy;
		}
		const job = { images: [], stage_timings: {}, ...initial } as Job;
		return withinLimit([{ job, since: Date.now() }, ...list]);
	});
}

/** Ids of the jobs the preview shows as queued or running. */
export function activeTrackedJobIds(): string[] {
	return get(trackedJobs)
		.filter((item) => isActive(item.job))
		.map((item) => item.job.job_id);
}

const refreshing = new Set<string>();

/** Re-read one job over REST (its end may have been missed); a job that is gone shows as interrupted. */
export async function refreshJob(jobId: string): Promise<void> {
	if (refreshing.has(jobId)) return;
	refreshing.add(jobId);
	try {
		const job = await api.get<Job>(`/api/generate/${encodeURIComponent(jobId)}`);
		if (isJobPayload(job)) recordJob(job);
	} catch (error) {
		if (error instanceof ApiError && error.status === 404) {
			trackedJobs.update((list) =>
				list.map((item) =>
					item.job.job_id === jobId && isActive(item.job)
						? { ...item, job: { ...item.job, status: 'interrupted' } }
						: item
				)
			);
		}
	} finally {
		refreshing.delete(jobId);
	}
}

export function dismissJob(jobId: string): void {
	trackedJobs.update((list) => list.filter((item) => item.job.job_id !== jobId));
}

export async function submitGenerate(body: GenerateBody): Promise<QueuedJob> {
	const queued = await api.post<QueuedJob>('/api/generate', body);
	track({ ...queued, prompt: body.prompt, n: body.n, size: body.size } as Partial<Job> & { job_id: string });
	return queued;
}

export async function submitEdit(form: FormData): Promise<QueuedJob> {
	const queued = await api.post<QueuedJob>('/api/edits', form);
	const prompt = form.get('prompt');
	const n = Number(form.get('n') ?? 1);
	track({ ...queued, prompt: typeof prompt === 'string' ? prompt : '', n } as Partial<Job> & {
		job_id: string;
	});
	return queued;
}

export async function cancelJob(jobId: string): Promise<void> {
	await api.delete(`/api/generate/${encodeURIComponent(jobId)}`);
	await refreshJob(jobId);
}

/** Parse `"12.34s"` or compute from timestamps; returns seconds. */
export function elapsedSeconds(item: TrackedJob, now: number): number {
	const job = item.job;
	if (job.duration && !isActive(job)) {
		const value = Number.parseFloat(job.duration);
		if (Number.isFinite(value)) return value;
	}
	const start = Date.parse(job.started_at ?? job.created_at ?? '');
	const from = Number.isFinite(start) ? Math.min(start, now) : item.since;
	const end = isActive(job) ? now : Date.parse(job.completed_at ?? job.updated_at ?? '');
	return Math.max(0, ((Number.isFinite(end) ? end : now) - from) / 1000);
}
