import { writable } from 'svelte/store';
import { api } from '$lib/api/client';
import type { Schema } from '$lib/api/types';

/**
 * The active settings (secrets masked), shared by the settings drawer and the
 * prompt form (default model, response format and API path come from here).
 */
export type Settings = Schema<'SettingsResponse'>;
export type Preset = Schema<'ApiPresetOut'>;
export type SettingsUpdate = Schema<'SettingsUpdate'>;
export type PresetCreate = Schema<'PresetCreate'>;
export type HealthReport = Schema<'HealthReport'>;
export type HealthCheck = Schema<'HealthCheck'>;
export type R2Update = Schema<'R2Update'>;
export type OptimizerUpdate = Schema<'OptimizerUpdate'>;
export type OverallConfig = Schema<'OverallConfig'>;
export type OverallConfigItem = Schema<'OverallConfigItem'>;
export type ConfigUpdate = Schema<'ConfigUpdate'>;
export type SystemPrompt = Schema<'SystemPrompt'>;

export const settings = writable<Settings | null>(null);

export const API_PATHS = ['/v1/images/generations', '/v1/responses', '/v1/chat/completions'] as const;
export const RESPONSE_FORMATS = ['url', 'b64_json', ''] as const;

export async function loadSettings(): Promise<Settings> {
	const value = await api.get<Settings>('/api/settings');
	settings.set(value);
	return value;
}

/** Every mutating settings route answers with the full settings; keep the store in step. */
async function apply(promise: Promise<Settings>): Promise<Settings> {
	const value = await promise;
	settings.set(value);
	return value;
}

export function saveSettings(body: SettingsUpdate): Promise<Settings> {
	return apply(api.post<Settings>('/api/settings', body));
}

export function createPreset(body: PresetCreate): Promise<Settings> {
	return apply(api.post<Settings>('/api/settings/presets', body));
}

export function activatePreset(id: string): Promise<Settings> {
	return apply(api.post<Settings>(`/api/settings/presets/${encodeURIComponent(id)}/activate`));
}

export function deletePreset(id: string): Promise<Settings> {
	return apply(api.delete<Settings>(`/api/settings/presets/${encodeURIComponent(id)}`));
}

export function checkPresetHealth(id: string, useCredentials: boolean): Promise<HealthReport> {
	return api.post<HealthReport>(`/api/settings/presets/${encodeURIComponent(id)}/health`, {
		use_credentials: useCredentials
	});
}

export type OptimizerHealth = Schema<'OptimizerHealthReport'>;

/** Probe the saved optimizer settings (with the saved key when there is one). */
export function checkOptimizerHealth(useCredentials: boolean): Promise<OptimizerHealth> {
	return api.post<OptimizerHealth>('/api/prompt/optimizer-health', { use_credentials: useCredentials });
}

export function checkR2Health(body: R2Update): Promise<HealthReport> {
	return api.post<HealthReport>('/api/settings/r2/health', body);
}

export function loadOverallConfig(): Promise<OverallConfig> {
	return api.get<OverallConfig>('/api/settings/overall-config');
}

export function updateOverallConfig(updates: ConfigUpdate[]): Promise<OverallConfig> {
	return api.put<OverallConfig>('/api/settings/overall-config', { updates });
}

export function loadSystemPrompt(): Promise<SystemPrompt> {
	return api.get<SystemPrompt>('/api/prompt/optimizer-system-prompt');
}

export function saveSystemPrompt(systemPrompt: string): Promise<SystemPrompt> {
	return api.post<SystemPrompt>('/api/prompt/optimizer-system-prompt', { system_prompt: systemPrompt });
}
