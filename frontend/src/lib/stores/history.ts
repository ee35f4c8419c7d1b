import { get, writable } from 'svelte/store';
import { api, ApiError, query } from '$lib/api/client';
import { FAILED_STATUSES, newestFirst, supersedes, type HistoryKey, type Job } from './jobState';

/**
 * The job history drawer's list: every persisted job, fetched a page at a time with
 * the server's seek cursor (`before_updated_at` + `before_job_id`), newest first.
 *
 * Jobs that start or change while the list is open arrive from the jobs feed
 * (mergeIntoHistory) and land at the top; a seek cursor does not shift when rows are
 * added above it, so paging on neither repeats nor skips a job.
 */
export const HISTORY_PAGE_SIZE = 50;

export interface HistoryState {
	/** Newest first, each job once. */
	jobs: Job[];
	errorsOnly: boolean;
	/** A page is being fetched. */
	loading: boolean;
	/** The first page arrived (before that, an empty list means "not loaded yet"). */
	loaded: boolean;
	/** The oldest job is in the list: there is nothing older to load. */
	complete: boolean;
	/** Why the last page failed to load, or ''. */
	error: string;
}

const initialState: HistoryState = {
	jobs: [],
	errorsOnly: false,
	loading: false,
	loaded: false,
	complete: false,
	error: ''
};

export const history = writable<HistoryState>(initialState);

/** The oldest job the server returned so far; the next page starts below it. */
let cursor: HistoryKey | null = null;
/** Bumped on every reload, so an answer to an older request is dropped. */
let generation = 0;

function detailOf(error: unknown): string {
	return error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
}

function matchesFilter(job: Job, errorsOnly: boolean): boolean {
	return !errorsOnly || FAILED_STATUSES.includes(job.status);
}

/** Add a page to the list: known jobs keep their fresher state, new ones are appended. */
function mergePage(list: Job[], page: Job[]): Job[] {
	const byId = new Map(list.map((job) => [job.job_id, job]));
	for (const job of page) {
		const known = byId.get(job.job_id);
		if (!known || supersedes(job, known)) byId.set(job.job_id, job);
	}
	return [...byId.values()].sort(newestFirst);
}

async function fetchPage(requestGeneration: number): Promise<void> {
	const { errorsOnly } = get(history);
	try {
		const page = await api.get<Job[]>(
			`/api/generate/jobs${query({
				include_finished: true,
				failed_only: errorsOnly || undefined,
				limit: HISTORY_PAGE_SIZE,
				before_updated_at: cursor?.updated_at,
				before_job_id: cursor?.job_id
			})}`
		);
		if (requestGeneration !== generation) return;
		const last = page.at(-1);
		if (last) cursor = { updated_at: last.updated_at, job_id: last.job_id };
		history.update((state) => ({
			...state,
			jobs: mergePage(state.jobs, page),
			loading: false,
			loaded: true,
			complete: page.length < HISTORY_PAGE_SIZE
		}));
	} catch (error) {
		if (requestGeneration !== generation) return;
		history.update((state) => ({ ...state, loading: false, error: detailOf(error) }));
	}
}

/** Start over from the newest job (the drawer opened, the filter changed, history was cleared). */
export function reloadHistory(errorsOnly: boolean): Promise<void> {
	generation += 1;
	cursor = null;
	history.set({ ...initialState, errorsOnly, loading: true });
	return fetchPage(generation);
}

/** Fetch the next older page; does nothing while one is loading or when the oldest job is shown. */
export function loadOlderHistory(): Promise<void> {
	const state = get(history);
	if (state.loading || state.complete) return Promise.resolve();
	if (!state.loaded) return reloadHistory(state.errorsOnly);
	history.update((current) => ({ ...current, loading: true, error: '' }));
	return fetchPage(generation);
}

/**
 * A job's new state from the jobs feed. A job already listed is updated (and moves
 * up when it changed); a new one is added when it is newer than the cursor, since
 * an older one will come with its page.
 */
export function mergeIntoHistory(job: Job): void {
	history.update((state) => {
		const index = state.jobs.findIndex((listed) => listed.job_id === job.job_id);
		const matches = matchesFilter(job, state.errorsOnly);
		if (index !== -1) {
			if (!supersedes(job, state.jobs[index]!)) return state;
			const jobs = [...state.jobs];
			if (matches) jobs[index] = job;
			else jobs.splice(index, 1);
			return { ...state, jobs: jobs.sort(newestFirst) };
		}
		if (!matches) return state;
		if (cursor !== null && !state.complete && newestFirst(job, cursor) > 0) return state;
		return { ...state, jobs: [...state.jobs, job].sort(newestFirst) };
	});
}

export async function clearHistory(): Promise<string> {
	const result = await api.delete<{ message?: string }>('/api/generate/jobs/history');
	void reloadHistory(get(history).errorsOnly);
	return result?.message ?? '';
}
