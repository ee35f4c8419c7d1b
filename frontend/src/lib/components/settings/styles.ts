/** Shared Tailwind classes for the settings drawer (neutral surfaces, one indigo accent). */
export const inputClass =
	'block w-full min-w-0 rounded-lg border border-neutral-300 bg-white px-3 py-2 text-sm text-neutral-900 shadow-xs placeholder:text-neutral-500 focus-visible:border-accent-600 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-accent-600 aria-invalid:border-red-600 disabled:opacity-70 dark:border-neutral-600 dark:bg-neutral-950 dark:text-neutral-100 dark:placeholder:text-neutral-400 dark:focus-visible:border-accent-400 dark:focus-visible:outline-accent-400';

export const labelClass = 'block text-sm font-medium text-neutral-800 dark:text-neutral-200';

export const hintClass = 'text-xs text-neutral-600 dark:text-neutral-400';

export const checkboxClass =
	'size-4 shrink-0 rounded border-neutral-400 accent-accent-600 dark:border-neutral-500 dark:accent-accent-400';

export const primaryButton =
	'inline-flex items-center justify-center gap-2 rounded-lg bg-accent-600 px-4 py-2 text-sm font-semibold text-white shadow-xs transition-colors hover:bg-accent-700 disabled:cursor-not-allowed disabled:opacity-70';

export const secondaryButton =
	'inline-flex items-center justify-center gap-2 rounded-lg border border-neutral-300 bg-white px-3 py-2 text-sm font-medium text-neutral-800 shadow-xs transition-colors hover:bg-neutral-100 disabled:cursor-not-allowed disabled:opacity-60 dark:border-neutral-600 dark:bg-neutral-900 dark:text-neutral-100 dark:hover:bg-neutral-800';

export const dangerButton =
	'inline-flex items-center justify-center gap-2 rounded-lg border border-red-300 bg-white px-3 py-2 text-sm font-medium text-red-700 shadow-xs transition-colors hover:bg-red-50 disabled:cursor-not-allowed disabled:opacity-60 dark:border-red-800 dark:bg-neutral-900 dark:text-red-300 dark:hover:bg-red-950';

export const sectionClass =
	'space-y-4 rounded-lg border border-neutral-200 p-4 dark:border-neutral-800';

export const sectionTitle = 'text-sm font-semibold text-neutral-900 dark:text-neutral-100';

export const alertClass =
	'rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm break-words text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200';

export const badgeBase = 'inline-flex items-center rounded-md px-1.5 py-0.5 text-xs font-medium';

/** Badge colours by source / status; all pairs keep AA contrast in both themes. */
const neutralTone = 'bg-neutral-100 text-neutral-800 dark:bg-neutral-800 dark:text-neutral-200';

export const badgeTone: Record<string, string> = {
	env: 'bg-sky-100 text-sky-900 dark:bg-sky-950 dark:text-sky-200',
	stored: 'bg-accent-100 text-accent-900 dark:bg-accent-950 dark:text-accent-300',
	override: 'bg-accent-100 text-accent-900 dark:bg-accent-950 dark:text-accent-300',
	registry: 'bg-violet-100 text-violet-900 dark:bg-violet-950 dark:text-violet-200',
	default: 'bg-neutral-100 text-neutral-800 dark:bg-neutral-800 dark:text-neutral-200',
	empty: 'bg-neutral-100 text-neutral-800 dark:bg-neutral-800 dark:text-neutral-200',
	ok: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200',
	warning: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200',
	error: 'bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200',
	restart: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200'
};

export function tone(key: string): string {
	return badgeTone[key] ?? neutralTone;
}

/** The message of a failed call: the server's detail for ApiError, otherwise the error text. */
export function errorText(error: unknown): string {
	if (error instanceof Error) {
		const detail = (error as { detail?: unknown }).detail;
		return typeof detail === 'string' && detail !== '' ? detail : error.message;
	}
	return String(error);
}
