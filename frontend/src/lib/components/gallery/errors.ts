import { ApiError } from '$lib/api/client';

/** A human-readable message for a failed gallery request. */
export function errorMessage(error: unknown): string {
	if (error instanceof ApiError) return error.detail;
	return error instanceof Error ? error.message : String(error);
}
