// Single-page app: the Rust server serves build/index.html for every page route.
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';
