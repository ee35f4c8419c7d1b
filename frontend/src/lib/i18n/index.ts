import { derived, writable } from 'svelte/store';
import archive from './messages/archive';
import backup from './messages/backup';
import common from './messages/common';
import compose from './messages/compose';
import gallery from './messages/gallery';
import settings from './messages/settings';

/**
 * English and Simplified Chinese. Each area of the panel keeps its own message
 * file (messages/*.ts) with the same keys in both languages; missing Chinese
 * strings fall back to English, missing keys show the key itself.
 */
export type Locale = 'en' | 'zh';
export type Messages = Record<string, string>;
export interface MessageBundle {
	en: Messages;
	zh: Messages;
}

const bundles: MessageBundle[] = [common, settings, compose, gallery, archive, backup];
const dictionaries: Record<Locale, Messages> = {
	en: Object.assign({}, ...bundles.map((b) => b.en)),
	zh: Object.assign({}, ...bundles.map((b) => b.zh))
};

const STORAGE_KEY = 'gpt-image-panel.locale';

function initialLocale(): Locale {
	if (typeof localStorage === 'undefined') return 'en';
	const saved = localStorage.getItem(STORAGE_KEY);
	if (saved === 'en' || saved === 'zh') return saved;
	return typeof navigator !== 'undefined' && navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const locale = writable<Locale>(initialLocale());

locale.subscribe((value) => {
	if (typeof document === 'undefined') return;
	document.documentElement.lang = value === 'zh' ? 'zh-CN' : 'en';
	localStorage.setItem(STORAGE_KEY, value);
});

export type Params = Record<string, string | number>;

export function translate(current: Locale, key: string, params: Params = {}): string {
	const template = dictionaries[current][key] ?? dictionaries.en[key] ?? key;
	return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
		name in params ? String(params[name]) : whole
	);
}

/** `$t('gallery.title')`, `$t('gallery.count', { count: 3 })`. */
export const t = derived(locale, ($locale) => (key: string, params?: Params) => translate($locale, key, params));
