import { writable } from 'svelte/store';

/** Which side drawer is open; one at a time. */
export type Drawer = 'settings' | 'snippets' | 'history' | null;
export const openDrawer = writable<Drawer>(null);

export type Theme = 'light' | 'dark' | 'system';
const THEME_KEY = 'gpt-image-panel.theme';

function initialTheme(): Theme {
	if (typeof localStorage === 'undefined') return 'system';
	const saved = localStorage.getItem(THEME_KEY);
	return saved === 'light' || saved === 'dark' ? saved : 'system';
}

export const theme = writable<Theme>(initialTheme());

function apply(value: Theme): void {
	if (typeof document === 'undefined') return;
	const dark =
		value === 'dark' || (value === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
	document.documentElement.classList.toggle('dark', dark);
	document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
}

theme.subscribe((value) => {
	if (typeof localStorage === 'undefined') return;
	localStorage.setItem(THEME_KEY, value);
	apply(value);
});

if (typeof window !== 'undefined') {
	window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
		let current: Theme = 'system';
		theme.subscribe((v) => (current = v))();
		apply(current);
	});
}
