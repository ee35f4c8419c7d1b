import { writable } from 'svelte/store';
import { api } from '$lib/api/client';
import type { Schema } from '$lib/api/types';

/**
 * The active settings (secrets masked), shared by the settings drawer and the
 * prompt form (default model, response format and API path come from here).
 */
export type Settings = Schema<'SettingsResponse'>;
export const settings = writable<Settings | null>(null);

export async function loadSettings(): Promise<Settings> {
	const value = await api.get<Settings>('/api/settings');
	settings.set(value);
	return value;
}
