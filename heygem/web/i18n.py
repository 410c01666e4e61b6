"""Chinese and English text for the web UI.

Static labels go through Gradio's I18n (the browser's language picks); text the server
writes (status lines, tables, errors) goes through :func:`tr` with the language of the
request's Accept-Language header. The seeds' own terms are used where they fit. The texts of
the presenter library, the queue, the downloads and the advanced settings are in
:mod:`heygem.web.coursetexts`.
"""

from __future__ import annotations

from heygem.enhance.choice import CPU_SECONDS_PER_FACE
from heygem.web.coursetexts import COURSE_TEXT

_GFPGAN_S, _RESTOREFORMER_S = CPU_SECONDS_PER_FACE["gfpgan"], CPU_SECONDS_PER_FACE["restoreformer"]

TEXT: dict[str, tuple[str, str]] = {  # key: (English, 中文)
    "title": ("## HeyGem · batch lip-sync", "## HeyGem · 数字人批量口型同步"),
    "tab_batch": ("Batch", "批量处理"),
    "tab_single": ("Single", "单个处理"),
    "tab_history": ("History", "历史记录"),
    "tab_log": ("Realtime log", "运行实时日志"),
    "tab_system": ("System", "系统信息"),
    "videos": ("Presenter videos or images (add many)", "人物视频或图片（可添加多个）"),
    "single_video": ("Presenter video or image", "人物视频或图片"),
    "audios": (
        "Narration audio: one, or several (wav, mp3, m4a, flac, ogg)",
        "音频：一个或多个（wav、mp3、m4a、flac、ogg）",
    ),
    "pairing": ("Which narration goes onto which video", "音频与视频的配对方式"),
    "manifest": (
        "Manifest: CSV or JSON, columns audio,video[,output][,settings]",
        "清单：CSV 或 JSON，列 audio,video[,output][,设置]",
    ),
    "need_manifest": ("Add the manifest file first.", "请先上传清单文件。"),
    "group_by": ("Group by", "分组方式"),
    "settings": ("Settings", "参数设置"),
    "engine": ("Engine", "引擎"),
    "detector": ("Face detector", "人脸检测"),
    "quality": ("Output quality", "输出质量"),
    "height": ("Output height", "输出高度"),
    "frame_order": ("When the audio is longer than the video", "音频长于视频时"),
    "chunk_seconds": ("Chunk length (seconds)", "分块时长（秒）"),
    "enhancer": ("Face enhancer after the lip-sync", "口型同步后的人脸增强"),
    "enhancer_blend": ("Enhancer strength (%)", "增强强度（%）"),
    "enhancer_cost": (  # a static label: the measured costs are put in here
        f"Face enhancer: sharper mouths. On a CPU it adds about {_GFPGAN_S:g} s per frame (GFPGAN; "
        f"RestoreFormer++ {_RESTOREFORMER_S:g} s), so auto runs it only on a CUDA GPU with its weights, "
        "for faces scaled up 2x or more.",
        f"人脸增强：嘴部更清晰。在 CPU 上每帧约增加 {_GFPGAN_S:g} 秒（GFPGAN；RestoreFormer++ 约 "
        f"{_RESTOREFORMER_S:g} 秒），因此 auto 仅在装有权重的 CUDA GPU 上、且脸部放大 2 倍以上时启用。",
    ),
    "pads": ("Face padding top / bottom / left / right (px)", "人脸边距 上/下/左/右（像素）"),
    "face_and_preview": ("Face, mask and preview", "人脸、遮罩与预览"),
    "mask": (
        "Mask: face = lower face to the jaw line; mouth = lips only",
        "遮罩：face=下半脸至下颌线；mouth=仅嘴部",
    ),
    "mask_size": ("Mask size (% of face width, − shrinks)", "遮罩大小（脸宽的 %，负值缩小）"),
    "mask_feather": ("Mask feather (% of face width)", "遮罩羽化（脸宽的 %）"),
    "preview_video": ("Video to preview and pick a face in", "预览并选择人脸的视频"),
    "first_frame": (
        "First frame: green is the face followed; click another face to pick it",
        "第一帧：绿色框为跟踪的人脸；点击其他人脸可切换",
    ),
    "draw_mask": ("Draw face box and mask", "显示人脸框与遮罩"),
    "preview_2s": ("Preview 2 s", "预览 2 秒"),
    "preview_clip": ("Preview (first 2 s, current settings)", "预览（前 2 秒，当前参数）"),
    "need_preview_video": ("Choose a video to preview.", "请选择要预览的视频。"),
    "preview_done": (
        "{seconds:.1f} s preview made in {took:.1f} s ({engine}; {missing} frame(s) without a face).",
        "{seconds:.1f} 秒预览，用时 {took:.1f} 秒（{engine}；{missing} 帧无人脸）。",
    ),
    "preview_side_by_side": (
        "Left: without the face enhancer; right: with {enhancer}.",
        "左：未增强；右：使用 {enhancer} 增强。",
    ),
    "faces_found": (
        "{n} face(s) on the first frame; the green one is followed.",
        "第一帧检测到 {n} 张人脸；跟踪绿色框。",
    ),
    "no_face_found": ("No face on the first frame.", "第一帧未检测到人脸。"),
    "face_picked": ("Face picked at ({x}, {y}) for {name}.", "已为 {name} 选择位于 ({x}, {y}) 的人脸。"),
    "start_batch": ("Start batch", "开始批量生成"),
    "start_single": ("Generate", "开始生成"),
    "cancel": ("Cancel", "取消"),
    "retry": ("Retry failed", "重试失败项"),
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
    "play": ("Play", "播放"),
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
    "col_audio": ("Narration", "音频"),
    "col_output": ("Output", "输出文件"),
    "col_video": ("Video", "视频"),
    "col_status": ("Status", "状态"),
    "col_progress": ("Progress", "进度"),
    "col_detail": ("Detail", "详情"),
    "now": ("Now: {name} ({i}/{n})", "当前：{name}（{i}/{n}）"),
    "now_pair": ("Now: {audio} → {name} ({i}/{n})", "当前：{audio} → {name}（{i}/{n}）"),
    "pair_count": (
        "{pairs} pair(s): {audios} narration(s) × {videos} video(s)",
        "共 {pairs} 组：{audios} 个音频 × {videos} 个视频",
    ),
    "unmatched": ("Not paired, left out: {names}", "未配对，不会处理：{names}"),
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
    "loudness_warning": (
        "Loudness engine (no weights): this is not real lip-sync. Use the download button at the top of the page "
        "(or `python -m heygem models download`): the engine switches without a restart. Or put "
        "wav2lip_gan.pth (or wav2lip.pth, Wav2Lip-SD-GAN.pt) into {folder} and restart.",
        "当前为音量引擎（无模型权重）：不是真正的口型同步。点击页面顶部的下载按钮（或运行 `python -m heygem models download`），"
        "引擎无需重启即可切换；也可将 wav2lip_gan.pth（或 wav2lip.pth、Wav2Lip-SD-GAN.pt）放入 {folder} 后重启。",
    ),
    "model_loudness": (
        "loudness engine on {device}: NOT real lip-sync (no weights: the mouth only follows the loudness)",
        "音量引擎（{device}）：不是真正的口型同步（无模型权重：嘴型只随音量开合）",
    ),
    "download_offer": ("Download Wav2Lip weights ({size})", "下载 Wav2Lip 模型权重（{size}）"),
    "download_enhancer_offer": (
        "Download face enhancer weights ({file}, {size})",
        "下载人脸增强模型权重（{file}，{size}）",
    ),
    "download_enhancer_installed": (
        "{file} installed and verified: choose the enhancer in Settings (auto uses it on a CUDA GPU).",
        "{file} 已安装并校验：可在参数设置中选择人脸增强（auto 仅在 CUDA GPU 上启用）。",
    ),
    "licence_head": ("Licence of {file} ({size})", "{file}（{size}）的许可"),
    "licence_accept": ("I accept the licence above", "我接受以上许可"),
    "licence_needed": ("Tick the box to accept the licence first.", "请先勾选接受许可。"),
    "download_from": ("From {where} (size and SHA-256 are checked)", "来源 {where}（会校验大小与 SHA-256）"),
    "download_go": ("Download", "下载"),
    "download_not_now": ("Not now", "暂不"),
    "download_running": (
        "Downloading {file}: batches keep running meanwhile",
        "正在下载 {file}：批量任务照常进行",
    ),
    "download_failed": (
        "Download failed: {error}. Fetch it by hand:",
        "下载失败：{error}。请手动下载：",
    ),
    "download_switching": (
        "{file} installed and verified: the next video uses wav2lip (after the running one)",
        "{file} 已安装并校验：下一个视频起使用 wav2lip（当前视频完成后）",
    ),
    "download_switched": (
        "{file} installed and verified. Engine switched to wav2lip without a restart: the next video uses it.",
        "{file} 已安装并校验。引擎已切换为 wav2lip，无需重启：下一个视频起生效。",
    ),
    "download_next_start": (
        "{file} installed and verified: it is used from the app's next start.",
        "{file} 已安装并校验：应用下次启动时生效。",
    ),
    "download_not_switched": (
        "{file} installed and verified, but the engine is still {engine}: {error}",
        "{file} 已安装并校验，但引擎仍为 {engine}：{error}",
    ),
    "weights_note": (
        "Weights: {file} downloaded and verified at {time}; engine switched from loudness to {engine} without a restart.",
        "模型权重：{file} 已于 {time} 下载并校验；引擎已从音量引擎切换为 {engine}，无需重启。",
    ),
    "submitted": ("Batch {id} submitted: {n} video(s).", "批次 {id} 已提交：{n} 个视频。"),
    "submitted_pairs": (
        "Batch {id} submitted: {n} pair(s) of narration and video.",
        "批次 {id} 已提交：{n} 组音频与视频。",
    ),
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
    "conflict_nothing_to_retry": (
        "Nothing to retry: no video of this batch failed or was cancelled.",
        "没有可重试的视频：本批次没有失败或已取消的视频。",
    ),
    "conflict_finished": ("Batch {id} has already finished.", "批次 {id} 已经结束。"),
    "conflict_stopping": (
        "Cancel was already asked: batch {id} stops after the current chunk.",
        "已请求取消：批次 {id} 将在当前分块完成后停止。",
    ),
    "conflict_running": (
        "Batch {id} is still running: wait for it or cancel it first.",
        "批次 {id} 仍在处理中：请等待完成或先取消。",
    ),
    "no_batch_picked": ("Pick a batch first.", "请先选择一个批次。"),
}
assert not TEXT.keys() & COURSE_TEXT.keys()  # one text per key
TEXT |= COURSE_TEXT


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


def refusal_text(exc: Exception, lang: str, batch_id: str) -> str:
    """Why the service refused an action on ``batch_id``, in the page's language: a
    :class:`~heygem.web.service.ConflictError` by its rule, else the error's own message."""
    key = f"conflict_{getattr(exc, 'reason', '')}"
    return tr(key, lang, id=batch_id) if key in TEXT else str(exc)


def gradio_i18n():
    """The Gradio I18n object with every key in both languages (zh-CN/zh-TW map to Chinese)."""
    import gradio as gr

    en = {k: v[0] for k, v in TEXT.items()}
    zh = {k: v[1] for k, v in TEXT.items()}
    return gr.I18n(en=en, zh=zh, **{"zh-CN": zh, "zh-TW": zh, "zh-HK": zh})
