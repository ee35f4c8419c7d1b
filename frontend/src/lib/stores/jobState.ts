import type { Schema } from '$lib/api/types';

/**
 * A generation or edit job as the server shows it (REST and SSE alike), and the
 * rules for ordering its states. One job's state reaches the panel from several
 * places (the submit answer, the jobs feed, REST reads), not always in order.
 */
export type Job = Schema<'JobView'>;

export const ACTIVE_STATUSES = ['queued', 'running'];
export const FAILED_STATUSES = ['partial_failure', 'error', 'upstream_error'];

export function isActive(job: Pick<Job, 'status'>): boolean {
	return ACTIVE_STATUSES.includes(job.status);
}

/** A job's place in the history: the server's order, most recently updated first, ties by id. */
export interface HistoryKey {
	updated_at: string;
	job_id: string;
}

/** Sorts newest first, exactly as `GET /api/generate/jobs?include_finished=true` does. */
export function newestFirst(a: HistoryKey, b: HistoryKey): number {
	if (a.updated_at !== b.updated_at) return a.updated_at < b.updated_at ? 1 : -1;
	if (a.job_id !== b.job_id) return a.job_id < b.job_id ? 1 : -1;
	return 0;
}

/**
 * Whether `incoming` may replace `current` (two states of one job): not when it is
 * older, and an ended job never becomes active again. A state without `updated_at`
 * (the submit answer) only replaces another one without it.
 */
export function supersedes(incoming: Partial<Job>, current: Partial<Job>): boolean {
	if (current.status && !isActive({ status: current.status }) && incoming.status && isActive({ status: incoming.status }))
		return false;
	if (!incoming.updated_at) return !current.updated_at;
	if (!current.updated_at) return true;
	return incoming.updated_at >= current.updated_at;
}

/** A JSON payload that looks like a job (it has an id, a status and a history key). */
export function isJobPayload(value: unknown): value is Job {
	if (typeof value !== 'object' || value === null) return false;
	const job = value as Partial<Job>;
	return typeof job.job_id === 'string' && typeof job.status === 'string' && typeof job.updated_at === 'string';
}
