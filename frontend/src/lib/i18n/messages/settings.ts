import type { MessageBundle } from '../index';

/** Messages for the settings area. Keys are prefixed "settings.". */
const messages: MessageBundle = {
	en: {},
	zh: {}
};

export default messages;
