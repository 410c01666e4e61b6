"""Chinese and English text of what a course creator uses beyond one batch: the presenter
library, the queue, whole-batch downloads, the advanced settings, the live table of a big
batch. Merged into :data:`heygem.web.i18n.TEXT` (key: (English, 中文))."""

from __future__ import annotations

COURSE_TEXT: dict[str, tuple[str, str]] = {
    # the live table of a big batch, and its downloads
    "frames_without_face": ("{n}/{total} frames without a face", "{n}/{total} 帧无人脸"),
    "more_failed": (
        "… and {n} more failed (History lists them all)",
        "…… 另有 {n} 个失败（历史记录中可查看全部）",
    ),
    "other_videos": ("Other videos", "其他视频"),
    "folded": ("{name}: {n} video(s): {counts}", "{name}：{n} 个视频：{counts}"),
    "download_all": ("Download all {n} output(s) as one zip", "打包下载全部 {n} 个输出"),
    # the advanced settings
    "advanced": ("Advanced", "高级设置"),
    "sync_offset": (
        "Lip timing: sync offset in frames (+: the mouth moves earlier, −: later; 0: as Wav2Lip)",
        "口型时间：同步偏移（帧；+ 嘴型提前，− 嘴型延后；0 与 Wav2Lip 一致）",
    ),
    "crf": (
        "x264 CRF 0–51 (empty: by quality; lower is better and bigger)",
        "x264 CRF 0–51（留空：按输出质量；越小越清晰、文件越大）",
    ),
    "keyframe_interval": (
        "Frames between face detections (1: every frame; faster when higher)",
        "人脸检测间隔帧数（1：每帧检测；越大越快）",
    ),
    "preview_narration": ("Narration to preview with", "预览使用的音频"),
    "manifest_template": (
        "Download these pairs as a manifest to fill in (CSV)",
        "下载这些配对的清单模板（CSV）",
    ),
    "from_library": (
        "Presenters from the library (add them in the Presenters tab)",
        "人物库中的人物（在“人物库”页添加）",
    ),
    "select_by": ("Select outputs", "选择输出"),
    "select_all": ("All {n} outputs", "全部 {n} 个输出"),
    "select_audio": ("Narration {name} ({n})", "音频 {name}（{n} 个）"),
    "select_video": ("Presenter {name} ({n})", "人物 {name}（{n} 个）"),
    # the presenter library
    "tab_presenters": ("Presenters", "人物库"),
    "presenter_files": (
        "Presenter videos or still images: add each once, use it in any batch",
        "人物视频或图片：只需添加一次，可用于任意批次",
    ),
    "presenter_new_name": ("Name (for one file; default: its file name)", "名称（单个文件时；默认为文件名）"),
    "presenter_add": ("Add to the library", "添加到人物库"),
    "presenter_need_file": ("Choose a video or image first.", "请先选择视频或图片。"),
    "presenter_added": (
        "Presenter {name} added: its face track is being made.",
        "已添加人物 {name}：正在生成人脸轨迹。",
    ),
    "presenter_known": ("That file is in the library already, as {name}.", "该文件已在人物库中：{name}。"),
    "presenter_pick": ("Presenter", "人物"),
    "presenter_frame": (
        "First frame: green is the face its batches follow; click another face to pick it",
        "第一帧：绿色框为批次跟踪的人脸；点击其他人脸可切换",
    ),
    "presenter_face_kept": (
        "Face at ({x}, {y}) kept for {name}.",
        "已为 {name} 保存位于 ({x}, {y}) 的人脸。",
    ),
    "presenter_name": ("Name", "名称"),
    "presenter_save": ("Save name, mask and padding", "保存名称、遮罩与边距"),
    "presenter_saved": ("{name} saved.", "{name} 已保存。"),
    "presenter_delete": ("Delete presenter", "删除人物"),
    "presenter_deleted": ("Presenter {name} deleted.", "人物 {name} 已删除。"),
    "presenter_pick_first": ("Pick a presenter first.", "请先选择一个人物。"),
    "presenter_in_use": (
        "{name} is used by batch {batches} (queued or running): cancel it or wait until it ends.",
        "{name} 正被批次 {batches}（排队或处理中）使用：请先取消或等待其结束。",
    ),
    "presenter_none": (
        "The library is empty: add presenter videos or images.",
        "人物库为空：请添加人物视频或图片。",
    ),
    "presenter_still": ("still image", "静态图片"),
    "presenter_used_by": ("in batch {batches}", "正用于批次 {batches}"),
    "col_look": ("Thumbnail", "缩略图"),
    "col_presenter": ("Presenter", "人物"),
    "col_own": ("Its own settings", "专属设置"),
    "col_track": ("Face track", "人脸轨迹"),
    "track_queued": ("waiting to be made", "等待生成"),
    "track_running": ("being made", "生成中"),
    "track_done": ("ready ✓", "已就绪 ✓"),
    "track_failed": ("not made: {error}", "未能生成：{error}"),
    "track_later": ("made by the workers on first use", "首次使用时由工作节点生成"),
    # the queue
    "queue": ("Queue: every unfinished batch", "任务队列：所有未完成的批次"),
    "queue_empty": ("Nothing queued or running.", "没有排队或处理中的批次。"),
    "queue_head": ("{n} batch(es) queued or running", "{n} 个批次排队或处理中"),
    "queue_running": ("running", "处理中"),
    "queue_queued": ("queued", "排队中"),
    "queue_stopping": ("stopping", "正在停止"),
    "col_order": ("#", "序号"),
    "col_batch": ("Batch", "批次"),
    "col_eta": ("Time left", "剩余时间"),
    "queue_pick": ("Batch in the queue", "队列中的批次"),
    "watch": ("Watch", "查看"),
    "cancel_picked": ("Cancel this batch", "取消此批次"),
    "watching": ("Watching batch {id}.", "正在查看批次 {id}。"),
}
