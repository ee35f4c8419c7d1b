import { writable } from 'svelte/store';

/**
 * The prompt form's draft. Other areas write to it: the gallery's "Use prompt",
 * "Use all" and "Edit this image", the history's "Reuse", the snippets' "Use".
 */
export interface ComposeDraft {
	prompt: string;
	size: string;
	quality: 'auto' | 'low' | 'medium' | 'high';
	output_format: 'png' | 'jpeg' | 'webp';
	output_compression: number;
	n: number;
	model: string;
	/** '' = the preset's default; 'none' is sent as JSON null. */
	response_format: '' | 'url' | 'b64_json' | 'none';
	/** '' = the preset's path. */
	api_path: string;
}

export const emptyDraft: ComposeDraft = {
	prompt: '',
	size: 'auto',
	quality: 'auto',
	output_format: 'png',
	output_compression: 100,
	n: 1,
	model: '',
	response_format: '',
	api_path: ''
};

export const draft = writable<ComposeDraft>({ ...emptyDraft });

/** An image chosen as an edit source: uploaded, pasted or taken from the gallery. */
export interface EditSource {
	id: string;
	name: string;
	file: File;
	/** object URL for the preview; revoked when removed. */
	previewUrl: string;
}

export const editSources = writable<EditSource[]>([]);

let nextSourceId = 1;

export function addEditSource(file: File): void {
	const source: EditSource = {
		id: `source-${nextSourceId++}`,
		name: file.name || 'image',
		file,
		previewUrl: URL.createObjectURL(file)
	};
	editSources.update((list) => [...list, source]);
}

/** "Edit this image": fetch a gallery image and add it as an edit source. */
export async function addEditSourceFromUrl(url: string, name: string): Promise<void> {
	const response = await fetch(url, { credentials: 'same-origin' });
	if (!response.ok) throw new Error(`Could not load ${name} (HTTP ${response.status})`);
	const blob = await response.blob();
	addEditSource(new File([blob], name, { type: blob.type || 'image/png' }));
}

export function removeEditSource(id: string): void {
	editSources.update((list) => {
		const gone = list.find((source) => source.id === id);
		if (gone) URL.revokeObjectURL(gone.previewUrl);
		return list.filter((source) => source.id !== id);
	});
}

export function clearEditSources(): void {
	editSources.update((list) => {
		for (const source of list) URL.revokeObjectURL(source.previewUrl);
		return [];
	});
}

/** "Use prompt": replace the prompt and leave the other choices alone. */
export function usePrompt(prompt: string): void {
	draft.update((current) => ({ ...current, prompt }));
}

/** "Use all" / "Reuse": take the prompt and every parameter given. */
export function useParameters(values: Partial<ComposeDraft>): void {
	draft.update((current) => ({ ...current, ...values }));
}
