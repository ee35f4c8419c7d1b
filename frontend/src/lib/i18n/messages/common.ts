import type { MessageBundle } from '../index';

/** Messages shared by every area: header, toasts, generic buttons. */
const messages: MessageBundle = {
	en: {
		'common.close': 'Close',
		'common.cancel': 'Cancel',
		'common.save': 'Save',
		'common.delete': 'Delete',
		'common.loading': 'Loading…',
		'common.retry': 'Retry',
		'common.undo': 'Undo',
		'common.dismiss': 'Dismiss notification',
		'header.nav': 'Panel tools',
		'header.settings': 'Settings',
		'header.prompts': 'Prompts',
		'header.history': 'History',
		'header.language': 'Language',
		'header.theme': 'Theme',
		'header.theme.light': 'Light',
		'header.theme.dark': 'Dark',
		'header.theme.system': 'System',
		'header.new_version': 'New',
		'header.new_version_title': 'Version {version} is available',
		'header.version': 'Version'
	},
	zh: {
		'common.close': '关闭',
		'common.cancel': '取消',
		'common.save': '保存',
		'common.delete': '删除',
		'common.loading': '加载中…',
		'common.retry': '重试',
		'common.undo': '撤销',
		'common.dismiss': '关闭通知',
		'header.nav': '面板工具',
		'header.settings': '设置',
		'header.prompts': '提示词',
		'header.history': '历史',
		'header.language': '语言',
		'header.theme': '主题',
		'header.theme.light': '浅色',
		'header.theme.dark': '深色',
		'header.theme.system': '跟随系统',
		'header.new_version': '新版本',
		'header.new_version_title': '版本 {version} 可用',
		'header.version': '版本'
	}
};

export default messages;
