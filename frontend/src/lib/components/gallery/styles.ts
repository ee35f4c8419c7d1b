/** Class list shared by the gallery's tool buttons (toolbar, batch bar, pagination). */
export const toolButton =
	'inline-flex items-center gap-1.5 rounded-lg border border-neutral-300 bg-white px-3 py-1.5 text-sm font-medium text-neutral-800 hover:bg-neutral-100 disabled:cursor-not-allowed disabled:opacity-60 dark:border-neutral-600 dark:bg-neutral-900 dark:text-neutral-100 dark:hover:bg-neutral-800';

/** The gallery's modal dialogs (import, R2 backup): frame (width added by each), buttons, alert. */
export const dialogFrame =
	'm-auto max-h-[calc(100dvh-2rem)] w-[calc(100%-2rem)] overflow-y-auto rounded-2xl border border-neutral-200 bg-white p-0 text-neutral-900 shadow-xl backdrop:bg-neutral-950/50 dark:border-neutral-700 dark:bg-neutral-900 dark:text-neutral-100';
export const dialogButton =
	'rounded-lg border border-neutral-300 px-4 py-2 text-sm font-medium hover:bg-neutral-100 disabled:cursor-not-allowed disabled:opacity-60 dark:border-neutral-600 dark:hover:bg-neutral-800';
export const dialogPrimary =
	'rounded-lg bg-accent-700 px-4 py-2 text-sm font-semibold text-white hover:bg-accent-900 disabled:cursor-not-allowed disabled:opacity-60 dark:bg-accent-600 dark:hover:bg-accent-700';
export const dialogAlert =
	'rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200';
