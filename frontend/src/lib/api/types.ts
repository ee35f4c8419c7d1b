/** Wire types of the panel's JSON API. */
import type { components } from './schema';

/**
 * Every request/response shape, generated from openapi/openapi.json
 * (`npm run gen:api`): `Schema<'GalleryPage'>`.
 */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

export interface AccessStatus {
	authenticated: boolean;
	/** RFC 3339 timestamp, or null when not authenticated. */
	expires_at: string | null;
}

export interface AccessUnlockRequest {
	access_key: string;
}

export interface VersionInfo {
	version: string;
	github_repo: string;
	release_url: string | null;
}

export interface LatestVersionInfo {
	latest_version: string | null;
	has_update: boolean;
	checked_at: string | null;
}

/** Error envelope returned by every failing API call. */
export interface ErrorEnvelope {
	status: 'error';
	error_code?: string;
	correlation_id?: string;
	detail?: string;
	message?: string;
	error?: string;
}
