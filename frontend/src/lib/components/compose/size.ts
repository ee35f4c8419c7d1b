/** Image size rules of the server (jobs contract §1.2) and the UI's presets. */
export const SIZE_LIMITS = {
	multiple: 16,
	maxSide: 3840,
	maxAspect: 3,
	minPixels: 655_360,
	maxPixels: 8_294_400
} as const;

export const RATIOS = ['1:1', '3:2', '2:3', '4:3', '3:4', '16:9', '9:16', '21:9', '9:21'] as const;
export const TIERS = { '1K': 1024 * 1024, '2K': 2048 * 2048, '4K': SIZE_LIMITS.maxPixels } as const;
export type Tier = keyof typeof TIERS;

const M = SIZE_LIMITS.multiple;
const down = (v: number) => Math.max(M, Math.floor(v / M) * M);
const up = (v: number) => Math.max(M, Math.ceil(v / M) * M);
const near = (v: number) => Math.max(M, Math.round(v / M) * M);

export interface SizeCheck {
	width: number;
	height: number;
	/** The input already satisfied every rule. */
	valid: boolean;
}

/** Move a W×H pair to the nearest size the server accepts, keeping the shape where possible. */
export function normalizeSize(width: number, height: number): SizeCheck {
	let w = Number.isFinite(width) && width > 0 ? width : 1024;
	let h = Number.isFinite(height) && height > 0 ? height : 1024;
	const original = { w, h };
	for (let i = 0; i < 6; i++) {
		w = near(w);
		h = near(h);
		if (Math.max(w, h) > SIZE_LIMITS.maxSide) {
			const scale = SIZE_LIMITS.maxSide / Math.max(w, h);
			w = down(w * scale);
			h = down(h * scale);
		}
		if (w / h > SIZE_LIMITS.maxAspect) h = up(w / SIZE_LIMITS.maxAspect);
		if (h / w > SIZE_LIMITS.maxAspect) w = up(h / SIZE_LIMITS.maxAspect);
		const pixels = w * h;
		if (pixels < SIZE_LIMITS.minPixels) {
			const scale = Math.sqrt(SIZE_LIMITS.minPixels / pixels);
			w = up(w * scale);
			h = up(h * scale);
		} else if (pixels > SIZE_LIMITS.maxPixels) {
			const scale = Math.sqrt(SIZE_LIMITS.maxPixels / pixels);
			w = down(w * scale);
			h = down(h * scale);
		}
		if (isValidSize(w, h)) break;
	}
	return { width: w, height: h, valid: w === original.w && h === original.h };
}

export function isValidSize(w: number, h: number): boolean {
	return (
		w > 0 &&
		h > 0 &&
		w % M === 0 &&
		h % M === 0 &&
		Math.max(w, h) <= SIZE_LIMITS.maxSide &&
		Math.max(w / h, h / w) <= SIZE_LIMITS.maxAspect &&
		w * h >= SIZE_LIMITS.minPixels &&
		w * h <= SIZE_LIMITS.maxPixels
	);
}

/** The W×H of a tier at a ratio, e.g. ('2K', '16:9'). */
export function presetSize(tier: Tier, ratio: string): { width: number; height: number } {
	const [a, b] = ratio.split(':').map(Number) as [number, number];
	const pixels = TIERS[tier];
	const w = Math.sqrt((pixels * a) / b);
	const { width, height } = normalizeSize(w, (w * b) / a);
	return { width, height };
}

export function parseSize(size: string): { width: number; height: number } | null {
	const match = /^(\d+)x(\d+)$/i.exec(size.trim());
	return match ? { width: Number(match[1]), height: Number(match[2]) } : null;
}
