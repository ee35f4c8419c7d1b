import { get, writable } from 'svelte/store';
import { api, ApiError, query } from '$lib/api/client';
import { openStream, type StreamHandle } from '$lib/api/sse';
import type { Schema } from '$lib/api/types';
import { announceGalleryChange } from './events';

export type Job = Schema<'JobView'>;
export type QueuedJob = Schema<'QueuedJob'>;
export type GenerateBody = Schema<'GenerateBody'> & { response_format?: string | null };

export const ACTIVE_STATUSES = ['queued', 'running'];
export const FAILED_STATUSES = ['partial_failure', 'error', 'upstream_error'];

export function isActive(job: Pick<Job, 'status'>): boolean {
	return ACTIVE_STATUSES.includes(job.status);
}

/** A job followed live in the preview, plus whether its stream is connected. */
export interface TrackedJob {
	job: Job;
	/** false while the event stream is reconnecting. */
	connected: boolean;
	/** Client clock when we started following it (fallback for elapsed time). */
	since: number;
}

/** Jobs submitted (or retried) in this tab, newest first. */
export const trackedJobs = writable<TrackedJob[]>([]);

const streams = new Map<string, StreamHandle>();

function upsert(job: Partial<Job> & { job_id: string }, connected?: boolean): void {
	trackedJobs.update((list) => {
		const index = list.findIndex((item) => item.job.job_id === job.job_id);
		if (index === -1) {
			return [
				{ job: job as Job, connected: connected ?? true, since: Date.now() },
				...list
			].slice(0, 12);
		}
		const copy = [...list];
		const current = copy[index]!;
		copy[index] = {
			...current,
			job: { ...current.job, ...job },
			connected: connected ?? current.connected
		};
		return copy;
	});
}

function setConnected(jobId: string, connected: boolean): void {
	trackedJobs.update((list) =>
		list.map((item) => (item.job.job_id === jobId ? { ...item, connected } : item))
	);
}

function finish(job: Job): void {
	streams.get(job.job_id)?.close();
	streams.delete(job.job_id);
	setConnected(job.job_id, true);
	if ((job.images?.length ?? 0) > 0 || job.image_url) announceGalleryChange();
	historyChanged.update((n) => n + 1);
}

function receive(data: unknown): void {
	if (typeof data !== 'object' || data === null) return;
	const job = data as Job;
	if (typeof job.job_id !== 'string') return;
	upsert(job, true);
	if (!isActive(job)) {
		const full = get(trackedJobs).find((item) => item.job.job_id === job.job_id);
		finish(full?.job ?? job);
	}
}

/** Re-read a job over REST (after a stream drop) and stop following finished ones. */
async function refresh(jobId: string): Promise<void> {
	try {
		const job = await api.get<Job>(`/api/generate/${encodeURIComponent(jobId)}`);
		receive(job);
	} catch (error) {
		if (error instanceof ApiError && error.status === 404) {
			streams.get(jobId)?.close();
			streams.delete(jobId);
			upsert({ job_id: jobId, status: 'interrupted' } as Job, true);
		}
	}
}

/** Follow one job over SSE until it reaches a terminal status. */
export function follow(initial: Partial<Job> & { job_id: string }): void {
	upsert({ images: [], stage_timings: {}, ...initial } as Job, false);
	if (streams.has(initial.job_id)) return;
	const handle = openStream(`/api/generate/${encodeURIComponent(initial.job_id)}/events`, {
		events: { job: receive },
		onOpen: () => setConnected(initial.job_id, true),
		onDrop: () => {
			setConnected(initial.job_id, false);
			void refresh(initial.job_id);
		}
	});
	streams.set(initial.job_id, handle);
}

export function dismissJob(jobId: string): void {
	streams.get(jobId)?.close();
	streams.delete(jobId);
	trackedJobs.update((list) => list.filter((item) => item.job.job_id !== jobId));
}

export async function submitGenerate(body: GenerateBody): Promise<QueuedJob> {
	const queued = await api.post<QueuedJob>('/api/generate', body);
	follow({ ...queued, prompt: body.prompt, n: body.n, size: body.size } as Partial<Job> & {
		job_id: string;
	});
	return queued;
}

export async function submitEdit(form: FormData): Promise<QueuedJob> {
	const queued = await api.post<QueuedJob>('/api/edits', form);
	const prompt = form.get('prompt');
	const n = Number(form.get('n') ?? 1);
	follow({ ...queued, prompt: typeof prompt === 'string' ? prompt : '', n } as Partial<Job> & {
		job_id: string;
	});
	return queued;
}

/** Pick up jobs still queued or running (e.g. after a page reload) and follow them. */
export async function resumeActiveJobs(): Promise<void> {
	const active = await api.get<Job[]>('/api/generate/jobs');
	for (const job of [...active].reverse()) if (isActive(job)) follow(job);
}

export async function cancelJob(jobId: string): Promise<void> {
	await api.delete(`/api/generate/${encodeURIComponent(jobId)}`);
	await refresh(jobId);
}

/** Bumped when a job finishes or history is cleared, so the history drawer reloads. */
export const historyChanged = writable(0);

export async function loadHistory(failedOnly: boolean): Promise<Job[]> {
	return api.get<Job[]>(
		`/api/generate/jobs${query({ include_finished: true, failed_only: failedOnly || undefined, limit: 100 })}`
	);
}

export async function clearHistory(): Promise<string> {
	const result = await api.delete<{ message?: string }>('/api/generate/jobs/history');
	historyChanged.update((n) => n + 1);
	return result?.message ?? '';
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
