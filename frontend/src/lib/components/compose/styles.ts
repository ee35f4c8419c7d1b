/** Shared Tailwind class lists for the compose area (neutral surfaces, one indigo accent). */
export const focusRing =
	'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-accent-600 dark:focus-visible:outline-accent-400';

export const card =
	'rounded-2xl border border-neutral-200 bg-white p-4 shadow-sm sm:p-5 dark:border-neutral-800 dark:bg-neutral-900';

export const label = 'block text-sm font-medium text-neutral-800 dark:text-neutral-200';

export const hint = 'text-xs text-neutral-600 dark:text-neutral-400';

export const input =
	'block w-full rounded-lg border border-neutral-300 bg-white px-3 py-2 text-sm text-neutral-900 shadow-xs placeholder:text-neutral-500 focus-visible:border-accent-600 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-accent-600 disabled:cursor-not-allowed disabled:bg-neutral-100 disabled:text-neutral-500 aria-invalid:border-red-600 dark:border-neutral-600 dark:bg-neutral-950 dark:text-neutral-100 dark:placeholder:text-neutral-400 dark:focus-visible:border-accent-400 dark:focus-visible:outline-accent-400 dark:disabled:bg-neutral-800 dark:disabled:text-neutral-400';

export const primaryButton = `inline-flex items-center justify-center gap-2 rounded-lg bg-accent-600 px-4 py-2 text-sm font-semibold text-white shadow-xs hover:bg-accent-700 disabled:cursor-not-allowed disabled:opacity-60 dark:bg-accent-400 dark:text-neutral-950 dark:hover:bg-accent-300 ${focusRing}`;

export const secondaryButton = `inline-flex items-center justify-center gap-2 rounded-lg border border-neutral-300 bg-white px-3 py-2 text-sm font-medium text-neutral-800 hover:bg-neutral-50 disabled:cursor-not-allowed disabled:opacity-60 dark:border-neutral-600 dark:bg-neutral-900 dark:text-neutral-100 dark:hover:bg-neutral-800 ${focusRing}`;

export const smallButton = `inline-flex items-center justify-center gap-1 rounded-md border border-neutral-300 px-2 py-1 text-xs font-medium text-neutral-800 hover:bg-neutral-100 disabled:cursor-not-allowed disabled:opacity-60 dark:border-neutral-600 dark:text-neutral-100 dark:hover:bg-neutral-800 ${focusRing}`;

export const dangerButton = `inline-flex items-center justify-center gap-1 rounded-md border border-red-300 px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50 dark:border-red-800 dark:text-red-300 dark:hover:bg-red-950 ${focusRing}`;

export const errorBox =
	'rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200';

/** Badge colours per job status; all pass AA on their own background. */
export function statusTone(status: string): string {
	switch (status) {
		case 'success':
			return 'bg-emerald-50 text-emerald-800 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800';
		case 'partial_failure':
			return 'bg-amber-50 text-amber-900 ring-amber-200 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800';
		case 'error':
		case 'upstream_error':
			return 'bg-red-50 text-red-800 ring-red-200 dark:bg-red-950 dark:text-red-200 dark:ring-red-800';
		case 'queued':
		case 'running':
			return 'bg-accent-50 text-accent-900 ring-accent-300 dark:bg-accent-950 dark:text-accent-100 dark:ring-accent-900';
		default:
			return 'bg-neutral-100 text-neutral-800 ring-neutral-300 dark:bg-neutral-800 dark:text-neutral-200 dark:ring-neutral-600';
	}
}

/** A stage string from the server → a message key for a short label. */
export function stageKey(stage: string | undefined | null): string | null {
	if (!stage) return null;
	if (stage === 'queued') return 'compose.stage.queued';
	if (stage.startsWith('starting')) return 'compose.stage.starting';
	if (stage.startsWith('building')) return 'compose.stage.building';
	if (stage.startsWith('uploading')) return 'compose.stage.uploading';
	if (stage === 'waiting_for_api') return 'compose.stage.waiting';
	if (stage === 'received_api_response') return 'compose.stage.received';
	if (stage.startsWith('saving')) return 'compose.stage.saving';
	if (stage === 'completed' || stage === 'completed_with_failures') return 'compose.stage.done';
	if (/^(parsing|extracting|decoding|downloading|validating)/.test(stage)) return 'compose.stage.processing';
	return null;
}

export const STAGE_ORDER = [
	'compose.stage.queued',
	'compose.stage.starting',
	'compose.stage.building',
	'compose.stage.waiting',
	'compose.stage.processing',
	'compose.stage.saving',
	'compose.stage.done'
];
