import { writable } from 'svelte/store';
import { ApiError } from '$lib/api/client';
import { getLatestVersion, getVersion } from '$lib/api/endpoints';
import type { LatestVersionInfo, VersionInfo } from '$lib/api/types';
import { markLocked } from './access';

export const version = writable<VersionInfo | null>(null);
export const latest = writable<LatestVersionInfo | null>(null);

/** Load the running version, then (best effort) the update check. */
export async function loadVersion(): Promise<void> {
	try {
		version.set(await getVersion());
	} catch (error) {
		if (error instanceof ApiError && error.status === 401) {
			markLocked();
			return;
		}
		version.set(null);
	}
	try {
		latest.set(await getLatestVersion());
	} catch {
		// The update check is optional: ignore any failure.
		latest.set(null);
	}
}
