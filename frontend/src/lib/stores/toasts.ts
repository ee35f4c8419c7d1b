import { writable } from 'svelte/store';

export type ToastKind = 'info' | 'success' | 'error';

export interface ToastAction {
	label: string;
	run: () => void;
}

export interface Toast {
	id: number;
	kind: ToastKind;
	message: string;
	action?: ToastAction;
	/** Milliseconds before it goes away on its own; 0 keeps it until dismissed. */
	timeout: number;
}

const list = writable<Toast[]>([]);
export const toasts = { subscribe: list.subscribe };

let nextId = 1;
const timers = new Map<number, ReturnType<typeof setTimeout>>();

export function dismissToast(id: number): void {
	clearTimeout(timers.get(id));
	timers.delete(id);
	list.update((items) => items.filter((toast) => toast.id !== id));
}

/** Show a message in the live region. Errors stay longer than confirmations. */
export function toast(
	message: string,
	kind: ToastKind = 'info',
	options: { action?: ToastAction; timeout?: number } = {}
): number {
	const id = nextId++;
	const timeout = options.timeout ?? (kind === 'error' ? 8_000 : 4_000);
	list.update((items) => [...items.slice(-4), { id, kind, message, action: options.action, timeout }]);
	if (timeout > 0) timers.set(id, setTimeout(() => dismissToast(id), timeout));
	return id;
}
