import { writable } from 'svelte/store';
import { api } from '$lib/api/client';
import { openStream, type StreamHandle } from '$lib/api/sse';
import { isJobPayload, type Job } from './jobState';
import { activeTrackedJobIds, recordJob, refreshJob } from './jobs';

/**
 * The jobs feed, `GET /api/generate/jobs/events`: one stream per tab, whoever uses it.
 * `event: jobs` carries every active job (on connect and whenever the list changes),
 * `event: job` a job that just ended. A job that leaves the list without its end
 * having arrived (missed while reconnecting) is read once over REST.
 */
const FEED_URL = '/api/generate/jobs/events';

/** false until the feed is open and while it reconnects. */
export const jobsFeedConnected = writable(false);

let stream: StreamHandle | null = null;
let users = 0;

function onActiveList(data: unknown): void {
	if (!Array.isArray(data)) return;
	const active = data.filter(isJobPayload);
	// Oldest first, so the newest job ends up on top of the preview.
	for (const job of [...active].reverse()) recordJob(job);
	const listed = new Set(active.map((job) => job.job_id));
	for (const jobId of activeTrackedJobIds()) {
		if (!listed.has(jobId)) void refreshJob(jobId);
	}
}

function onJobEnded(data: unknown): void {
	if (isJobPayload(data)) recordJob(data);
}

/** While the stream is down, the REST list stands in (and a 401 there locks the panel). */
async function readActiveList(): Promise<void> {
	try {
		onActiveList(await api.get<Job[]>('/api/generate/jobs'));
	} catch {
		// Offline or locked: the stream keeps retrying, the access gate handles 401.
	}
}

/** Start using the feed; call the returned function to stop. The stream closes with its last user. */
export function useJobsFeed(): () => void {
	users += 1;
	if (stream === null) {
		stream = openStream(FEED_URL, {
			events: { jobs: onActiveList, job: onJobEnded },
			onOpen: () => jobsFeedConnected.set(true),
			onDrop: () => {
				jobsFeedConnected.set(false);
				void readActiveList();
			}
		});
	}
	let released = false;
	return () => {
		if (released) return;
		released = true;
		users -= 1;
		if (users === 0 && stream !== null) {
			stream.close();
			stream = null;
			jobsFeedConnected.set(false);
		}
	};
}
