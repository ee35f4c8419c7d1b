import type { MessageBundle } from '../index';

/** Messages for the gallery area. Keys are prefixed "gallery.". */
const messages: MessageBundle = {
	en: {},
	zh: {}
};

export default messages;
