/** Form state of the settings panel and the request bodies built from it. */
import type { Params } from '$lib/i18n';
import { API_PATHS, type OptimizerUpdate, type Preset, type R2Update, type Settings } from '$lib/stores/settings';

/** The preset picker value of an unsaved draft preset. */
export const NEW = '__new__';

export interface PresetForm {
	name: string;
	apiUrl: string;
	apiPath: string;
	model: string;
	format: string;
	apiKey: string;
	clearApiKey: boolean;
}

export interface GlobalForm {
	proxy: string;
	clearProxy: boolean;
	webhook: string;
	clearWebhook: boolean;
}

export interface OptimizerForm {
	enabled: boolean;
	url: string;
	model: string;
	timeout: string;
	key: string;
	clearKey: boolean;
}

export interface R2Form {
	enabled: boolean;
	endpoint: string;
	bucket: string;
	region: string;
	prefix: string;
	interval: string;
	keyId: string;
	clearKeyId: boolean;
	secret: string;
	clearSecret: boolean;
}

export function presetForm(preset: Preset | null): PresetForm {
	return {
		name: preset?.name ?? '',
		apiUrl: preset?.api_url ?? '',
		apiPath: preset?.api_path ?? API_PATHS[0],
		model: preset?.default_model ?? '',
		format: preset?.default_response_format ?? 'url',
		apiKey: '',
		clearApiKey: false
	};
}

export function globalForm(): GlobalForm {
	return { proxy: '', clearProxy: false, webhook: '', clearWebhook: false };
}

/** The optimizer fields of `value`, or the defaults shown before settings have loaded. */
export function optimizerForm(value: Settings | null): OptimizerForm {
	const opt = value?.prompt_optimizer;
	return {
		enabled: opt?.enabled ?? false,
		url: opt?.api_url ?? '',
		model: opt?.model ?? '',
		timeout: String(opt?.timeout_seconds ?? 60),
		key: '',
		clearKey: false
	};
}

/** The R2 backup fields of `value`, or the defaults shown before settings have loaded. */
export function r2Form(value: Settings | null): R2Form {
	const r2 = value?.r2_backup;
	return {
		enabled: r2?.enabled ?? false,
		endpoint: r2?.endpoint_url ?? '',
		bucket: r2?.bucket_name ?? '',
		region: r2?.region ?? '',
		prefix: r2?.key_prefix ?? '',
		interval: String(r2?.sync_interval_hours ?? 0),
		keyId: '',
		clearKeyId: false,
		secret: '',
		clearSecret: false
	};
}

/** A secret input: undefined keeps the stored value, '' clears it, text replaces it. */
export function secret(value: string, clear: boolean): string | undefined {
	if (clear) return '';
	const trimmed = value.trim();
	return trimmed === '' ? undefined : trimmed;
}

/** `bind:value` on a number input yields a number (or null when empty), not the typed text. */
export function wholeNumber(value: string | number | null | undefined): number | null {
	const trimmed = String(value ?? '').trim();
	return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

type Translate = (key: string, params?: Params) => string;

/** The message for a number field that is not a whole number of at least `min`. */
export function invalidNumber(translate: Translate, field: string, min: number): string {
	return translate('settings.invalid_number', { field: translate(field), min });
}

export function optimizerBody(form: OptimizerForm): OptimizerUpdate {
	const body: OptimizerUpdate = {
		enabled: form.enabled,
		api_url: form.url.trim(),
		model: form.model.trim(),
		timeout_seconds: wholeNumber(form.timeout) ?? 0
	};
	const key = secret(form.key, form.clearKey);
	if (key !== undefined) body.api_key = key;
	return body;
}

export function r2Body(form: R2Form): R2Update {
	const body: R2Update = {
		enabled: form.enabled,
		endpoint_url: form.endpoint.trim(),
		bucket_name: form.bucket.trim(),
		region: form.region.trim(),
		key_prefix: form.prefix.trim(),
		sync_interval_hours: wholeNumber(form.interval) ?? 0
	};
	const keyId = secret(form.keyId, form.clearKeyId);
	if (keyId !== undefined) body.access_key_id = keyId;
	const secretKey = secret(form.secret, form.clearSecret);
	if (secretKey !== undefined) body.secret_access_key = secretKey;
	return body;
}
