import type { MessageBundle } from '../index';

/** Messages for the gallery's R2 backup (dialog and last-backup line). Keys are prefixed "backup.". */
const messages: MessageBundle = {
	en: {
		'backup.open': 'Back up to R2',
		'backup.title': 'Back up to R2',
		'backup.intro':
			'Copies the gallery’s original files to the R2 bucket set in Settings. Files already in the bucket are never overwritten. A check runs first and uploads nothing.',
		'backup.full_reconcile': 'Full reconcile',
		'backup.full_reconcile_hint':
			'Compares every gallery file with the bucket, not only those added or changed since the last backup, so objects deleted from the bucket by hand are found (and uploaded again). Slower on a large gallery.',
		'backup.start': 'Start backup',
		'backup.check_again': 'Check again',
		'backup.retry': 'Try again',
		'backup.open_settings': 'Open Settings',
		'backup.background': 'You can close this window: the backup goes on, and its result shows next to the button.',

		'backup.stage.queued': 'Waiting to start…',
		'backup.stage.preparing': 'Listing the gallery’s files…',
		'backup.stage.listing_remote': 'Connecting to the bucket…',
		'backup.stage.comparing': 'Comparing the files with the bucket…',
		'backup.stage.preflight': 'Comparing the files with the bucket…',
		'backup.stage.uploading': 'Uploading to the bucket…',
		'backup.stage.checkpoint': 'Saving a checkpoint…',
		'backup.stage.completed': 'Finished.',
		'backup.stage.error': 'Failed.',

		'backup.compared': 'Compared {compared} of {total} files ({size})',
		'backup.to_upload': 'To upload',
		'backup.uploaded': 'Uploaded',
		'backup.existing': 'Already in the bucket',
		'backup.missing': 'Missing locally',
		'backup.failed_count': 'Failed',
		'backup.bytes_uploaded': '{size} uploaded',

		'backup.preflight.pending': 'Files to upload: {count}',
		'backup.preflight.nothing': 'Nothing to upload: the bucket already holds every file.',
		'backup.preflight.unchanged':
			'Nothing changed since the last backup. Tick “Full reconcile” to compare every file with the bucket.',
		'backup.done': 'Backup finished: {uploaded} uploaded, {existing} already in the bucket.',
		'backup.failed': 'The backup failed.',
		'backup.check_failed': 'The check failed.',

		'backup.error.empty': 'The gallery has no images to back up.',
		'backup.error.settings': 'R2 backup is not ready: {error} Check the R2 backup section in Settings.',
		'backup.error.busy': 'A backup or check is already running. Wait for it to finish, then try again.',
		'backup.error.unreachable': 'Cannot reach the panel server. Check your connection and try again.',

		'backup.last.running': 'Backup running: {percent}%',
		'backup.last.success': 'Last backup: {uploaded} uploaded · {time}',
		'backup.last.error': 'Last backup failed: {error} · {time}'
	},
	zh: {
		'backup.open': '备份到 R2',
		'backup.title': '备份到 R2',
		'backup.intro': '将图库的原始文件复制到设置中配置的 R2 存储桶。存储桶中已有的文件不会被覆盖。会先进行一次检查，检查不上传任何文件。',
		'backup.full_reconcile': '完整核对',
		'backup.full_reconcile_hint':
			'将图库中的每个文件都与存储桶比较，而不只是上次备份后新增或更改的文件，因此能发现在存储桶中被手动删除的对象（并重新上传）。图库较大时会更慢。',
		'backup.start': '开始备份',
		'backup.check_again': '重新检查',
		'backup.retry': '重试',
		'backup.open_settings': '打开设置',
		'backup.background': '可以关闭此窗口：备份会继续进行，结果会显示在按钮旁边。',

		'backup.stage.queued': '等待开始…',
		'backup.stage.preparing': '正在列出图库文件…',
		'backup.stage.listing_remote': '正在连接存储桶…',
		'backup.stage.comparing': '正在将文件与存储桶比较…',
		'backup.stage.preflight': '正在将文件与存储桶比较…',
		'backup.stage.uploading': '正在上传到存储桶…',
		'backup.stage.checkpoint': '正在保存检查点…',
		'backup.stage.completed': '已完成。',
		'backup.stage.error': '失败。',

		'backup.compared': '已比较 {compared} / {total} 个文件（{size}）',
		'backup.to_upload': '待上传',
		'backup.uploaded': '已上传',
		'backup.existing': '已在存储桶中',
		'backup.missing': '本地缺失',
		'backup.failed_count': '失败',
		'backup.bytes_uploaded': '已上传 {size}',

		'backup.preflight.pending': '待上传文件：{count} 个',
		'backup.preflight.nothing': '无需上传：存储桶中已有全部文件。',
		'backup.preflight.unchanged': '自上次备份以来没有变化。勾选“完整核对”可将每个文件都与存储桶比较。',
		'backup.done': '备份完成：已上传 {uploaded} 个文件，{existing} 个已在存储桶中。',
		'backup.failed': '备份失败。',
		'backup.check_failed': '检查失败。',

		'backup.error.empty': '图库中没有可备份的图片。',
		'backup.error.settings': 'R2 备份尚未就绪：{error} 请检查设置中的 R2 备份部分。',
		'backup.error.busy': '已有备份或检查正在进行。请等待其完成后重试。',
		'backup.error.unreachable': '无法连接面板服务器。请检查网络连接后重试。',

		'backup.last.running': '备份进行中：{percent}%',
		'backup.last.success': '上次备份：已上传 {uploaded} 个 · {time}',
		'backup.last.error': '上次备份失败：{error} · {time}'
	}
};

export default messages;
