import { derived, writable } from 'svelte/store';
import { ApiError } from '$lib/api/client';
import { getAccessStatus, unlockAccess } from '$lib/api/endpoints';

export type AccessState =
	/** Asking the server whether the access cookie is valid. */
	| { phase: 'checking' }
	/** Gate shown. `notice` explains a failed status check (the form still works). */
	| { phase: 'locked'; notice: string | null }
	| { phase: 'unlocked'; expiresAt: string | null };

const state = writable<AccessState>({ phase: 'checking' });

export const access = { subscribe: state.subscribe };
export const isUnlocked = derived(state, ($s) => $s.phase === 'unlocked');

function messageOf(error: unknown): string {
	if (error instanceof ApiError) return error.detail;
	return 'Something went wrong. Please try again.';
}

/** Ask the server whether this browser already holds a valid access cookie. */
export async function refreshAccess(): Promise<void> {
	try {
		const status = await getAccessStatus();
		state.set(
			status.authenticated
				? { phase: 'unlocked', expiresAt: status.expires_at }
				: { phase: 'locked', notice: null }
		);
	} catch (error) {
		state.set({ phase: 'locked', notice: `Could not check access: ${messageOf(error)}` });
	}
}

/**
 * Submit an access key. Resolves to null on success, or to the message to show
 * (e.g. "Invalid access key", "Too many failed attempts. Try again in 299 seconds.").
 */
export async function unlock(accessKey: string): Promise<string | null> {
	try {
		const status = await unlockAccess(accessKey);
		if (!status.authenticated) return 'The server did not accept the access key.';
		state.set({ phase: 'unlocked', expiresAt: status.expires_at });
		return null;
	} catch (error) {
		return messageOf(error);
	}
}

/** Call when any API request answers 401: the cookie expired or was revoked. */
export function markLocked(notice: string | null = 'Your access expired. Enter the access key again.'): void {
	state.set({ phase: 'locked', notice });
}
