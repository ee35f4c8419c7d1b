import type { MessageBundle } from '../index';

/** Messages for the compose area. Keys are prefixed "compose.". */
const messages: MessageBundle = {
	en: {},
	zh: {}
};

export default messages;
