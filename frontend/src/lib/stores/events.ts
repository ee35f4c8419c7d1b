import { writable } from 'svelte/store';

/**
 * Bumped whenever new images land in the gallery (a job finished with images),
 * so the gallery reloads its current page without polling.
 */
export const galleryChanged = writable(0);

export function announceGalleryChange(): void {
	galleryChanged.update((n) => n + 1);
}
