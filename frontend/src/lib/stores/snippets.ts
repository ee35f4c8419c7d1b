import { writable } from 'svelte/store';
import { api, query } from '$lib/api/client';
import type { Schema } from '$lib/api/types';

export type PromptSnippet = Schema<'Snippet'>;
type SnippetList = Schema<'SnippetList'>;

export const snippets = writable<PromptSnippet[]>([]);

/** Favorites first, then newest. */
function sorted(list: PromptSnippet[]): PromptSnippet[] {
	return [...list].sort(
		(a, b) =>
			Number(b.favorite) - Number(a.favorite) || b.updated_at.localeCompare(a.updated_at)
	);
}

export async function loadSnippets(search = ''): Promise<void> {
	const result = await api.get<SnippetList>(`/api/prompt-snippets${query({ query: search.trim() })}`);
	snippets.set(sorted(result.snippets ?? []));
}

export async function createSnippet(title: string, prompt: string): Promise<PromptSnippet> {
	const created = await api.post<PromptSnippet>('/api/prompt-snippets', { title, prompt, favorite: false });
	snippets.update((list) => sorted([created, ...list.filter((s) => s.id !== created.id)]));
	return created;
}

export async function setFavorite(id: string, favorite: boolean): Promise<void> {
	const updated = await api.patch<PromptSnippet>(`/api/prompt-snippets/${encodeURIComponent(id)}`, {
		favorite
	});
	snippets.update((list) => sorted(list.map((s) => (s.id === id ? { ...s, ...updated } : s))));
}

export async function deleteSnippet(id: string): Promise<void> {
	await api.delete(`/api/prompt-snippets/${encodeURIComponent(id)}`);
	snippets.update((list) => list.filter((s) => s.id !== id));
}
