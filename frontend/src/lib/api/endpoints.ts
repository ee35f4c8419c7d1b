import { api } from './client';
import type { AccessStatus, AccessUnlockRequest, LatestVersionInfo, VersionInfo } from './types';

export const getAccessStatus = (signal?: AbortSignal) =>
	api.get<AccessStatus>('/api/access/status', { signal });

export const unlockAccess = (accessKey: string) =>
	api.post<AccessStatus>('/api/access', { access_key: accessKey } satisfies AccessUnlockRequest);

export const getVersion = (signal?: AbortSignal) => api.get<VersionInfo>('/api/version', { signal });

export const getLatestVersion = (signal?: AbortSignal) =>
	api.get<LatestVersionInfo>('/api/version/latest', { signal });
