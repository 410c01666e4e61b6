"""Chinese and English text for the web UI.

Static labels go through Gradio's I18n (the browser's language picks); text the server
writes (status lines, tables, errors) goes through :func:`tr` with the language of the
request's Accept-Language header. The seeds' own terms are used where they fit.
"""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {  # key: (English, 中文)
    "title": ("## HeyGem · batch lip-sync", "## HeyGem · 数字人批量口型同步"),
    "tab_batch": ("Batch", "批量处理"),
    "tab_single": ("Single", "单个处理"),
    "tab_history": ("History", "历史记录"),
    "tab_log": ("Realtime log", "运行实时日志"),
    "tab_system": ("System", "系统信息"),
    "audio": ("Narration audio (wav, mp3, m4a, flac, ogg)", "音频（wav、mp3、m4a、flac、ogg）"),
    "videos": ("Presenter videos or images (add many)", "人物视频或图片（可添加多个）"),
    "video": ("Presenter video or image", "人物视频或图片"),
    "settings": ("Settings", "参数设置"),
    "engine": ("Engine", "引擎"),
    "detector": ("Face detector", "人脸检测"),
    "quality": ("Output quality", "输出质量"),
    "height": ("Output height", "输出高度"),
    "frame_order": ("When the audio is longer than the video", "音频长于视频时"),
    "chunk_seconds": ("Chunk length (seconds)", "分块时长（秒）"),
    "pads": ("Face padding top / bottom / left / right (px)", "人脸边距 上/下/左/右（像素）"),
    "start_batch": ("Start batch", "开始批量生成"),
    "start_single": ("Generate", "开始生成"),
    "cancel": ("Cancel", "取消"),
    "retry": ("Retry failed", "重试失败项"),
    "watching": ("Batch", "批次"),
    "play_output": ("Play a finished video", "播放已完成的视频"),
    "result": ("Result", "生成结果"),
    "history_batches": ("Batches", "批次列表"),
    "history_outputs": (
        "Outputs of this batch (tick to download or delete)",
        "本批输出（勾选后可下载或删除）",
    ),
    "refresh": ("Refresh", "刷新"),
    "download_zip": ("Download selected as zip", "打包下载所选"),
    "delete_selected": ("Delete selected outputs", "删除所选输出"),
    "delete_batch": ("Delete batch", "删除整个批次"),
    "preview": ("Preview", "预览"),
    "log": ("Latest lines of the log", "日志最新内容"),
    "retry_load": ("Retry loading the model", "重新加载模型"),
    # server-written text
    "state_queued": ("queued", "排队中"),
    "state_running": ("running", "处理中"),
    "state_done": ("done", "已完成"),
    "state_failed": ("failed", "失败"),
    "state_cancelled": ("cancelled", "已取消"),
    "state_partial": ("finished with failures", "部分失败"),
    "stage_probing": ("reading the video", "读取视频"),
    "stage_detecting": ("detecting faces", "检测人脸"),
    "stage_lipsync": ("lip-syncing chunk {chunk}/{chunks}", "口型同步 第 {chunk}/{chunks} 块"),
    "stage_muxing": ("encoding", "编码输出"),
    "stage_done": ("done", "完成"),
    "col_video": ("Video", "视频"),
    "col_status": ("Status", "状态"),
    "col_progress": ("Progress", "进度"),
    "col_detail": ("Detail", "详情"),
    "now": ("Now: {name} ({i}/{n})", "当前：{name}（{i}/{n}）"),
    "eta": ("about {time} left", "预计剩余 {time}"),
    "waiting_model": (
        "waiting for the model to load (queue position {pos})",
        "等待模型加载（排队第 {pos} 位）",
    ),
    "waiting_model_error": (
        "waiting: the model failed to load ({error}); fix that, then press "
        "“Retry loading the model” in the System tab",
        "等待中：模型加载失败（{error}）；解决后请在“系统信息”页点击“重新加载模型”",
    ),
    "queue_pos": ("queued: {pos} batch(es) ahead", "排队中：前面还有 {pos} 个批次"),
    "queue_next": ("queued: next in line", "排队中：下一个处理"),
    "no_batch": (
        "No batch yet: add an audio and videos, then start.",
        "还没有批次：请上传音频和视频后点击开始。",
    ),
    "model_loading": ("initialising model… {secs} s", "初始化AI模型中，请耐心等待… {secs} 秒"),
    "model_ready": (
        "model ready: {engine} on {device} (loaded in {secs} s)",
        "模型已就绪：{engine}（{device}，加载用时 {secs} 秒）",
    ),
    "model_error": ("model failed to load: {error}", "模型加载失败：{error}"),
    "worker_retrying": (
        "the queue hit an error and tries again shortly: {error}",
        "任务队列出错，稍后自动重试：{error}",
    ),
    "worker_down": (
        "the queue is down: {error} (see the realtime log)",
        "任务队列已停止：{error}（详见运行实时日志）",
    ),
    "preview_warning": (
        "Preview engine: this is not real lip-sync. Put wav2lip_gan.pth (or wav2lip.pth) into "
        "{folder} and restart for real lip-sync.",
        "当前为预览引擎：不是真正的口型同步。请将 wav2lip_gan.pth（或 wav2lip.pth）放入 {folder} 后重启。",
    ),
    "submitted": ("Batch {id} submitted: {n} video(s).", "批次 {id} 已提交：{n} 个视频。"),
    "bad_uploads": (
        "Not usable, recorded as failed: {names}",
        "以下文件无法使用，已记为失败：{names}",
    ),
    "need_audio": ("Add a narration audio first.", "请先上传音频。"),
    "need_videos": ("Add at least one video.", "请至少添加一个视频。"),
    "cancel_sent": (
        "Cancel requested: stops after the current chunk.",
        "已请求取消：当前分块完成后停止。",
    ),
    "disk": (
        "Outputs and uploads use {used}; {free} free on this disk.",
        "输出与上传共占用 {used}；磁盘剩余 {free}。",
    ),
    "disk_low": (
        "Less than 10 GB free: delete old outputs.",
        "磁盘剩余不足 10 GB：请清理旧的输出。",
    ),
    "retention": (
        "Outputs older than {days} days are deleted automatically.",
        "超过 {days} 天的输出会自动删除。",
    ),
    "nothing_selected": ("Select outputs first.", "请先勾选输出文件。"),
    "zip_ready": ("Download the zip of {n} output(s)", "下载 {n} 个输出的压缩包"),
    "loading_again": ("Loading the model again…", "正在重新加载模型…"),
    "nothing_to_load": ("The model is not in an error state.", "模型当前没有加载错误。"),
    "deleted_outputs": ("Deleted {n} output(s).", "已删除 {n} 个输出。"),
    "deleted_batch": ("Batch {id} deleted.", "批次 {id} 已删除。"),
    "retried": ("{n} video(s) of batch {id} queued again.", "批次 {id} 的 {n} 个视频已重新排队。"),
    "nothing_to_retry": (
        "Nothing to retry: no video of this batch failed or was cancelled.",
        "没有可重试的视频：本批次没有失败或已取消的视频。",
    ),
    "no_batch_picked": ("Pick a batch first.", "请先选择一个批次。"),
}


def lang_of(accept_language: str | None) -> str:
    """'zh' when the browser ranks Chinese above English (by q-value, then order), else 'en'."""
    best = {"zh": (0.0, 0), "en": (0.0, 0)}  # language -> (q-value, minus its position)
    for position, part in enumerate((accept_language or "").split(",")):
        code, *params = (p.strip().lower() for p in part.split(";"))
        lang = code.split("-")[0]
        if lang not in best:
            continue
        weight = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    weight = float(param[2:])
                except ValueError:
                    weight = 0.0  # malformed: not a preference
        if weight > 0:
            best[lang] = max(best[lang], (weight, -position))
    return "zh" if best["zh"] > best["en"] else "en"


def request_lang(request) -> str:
    """The language of a Gradio request (its Accept-Language header); None is English."""
    return lang_of(request.headers.get("accept-language") if request else None)


def tr(key: str, lang: str = "en", **values) -> str:
    english, chinese = TEXT[key]
    text = chinese if lang == "zh" else english
    return text.format(**values) if values else text


def gradio_i18n():
    """The Gradio I18n object with every key in both languages (zh-CN/zh-TW map to Chinese)."""
    import gradio as gr

    en = {k: v[0] for k, v in TEXT.items()}
    zh = {k: v[1] for k, v in TEXT.items()}
    return gr.I18n(en=en, zh=zh, **{"zh-CN": zh, "zh-TW": zh, "zh-HK": zh})
