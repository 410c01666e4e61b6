"""The Presenters tab: the presenter library (:mod:`heygem.web.presenters`).

Add videos or stills once (a name for one of them, else each is named after its file); each is
listed with its thumbnail, its own settings and its face track, made in the background with
progress (the tab's timer ticks while a track is made). Pick one to see its first frame with
the faces found: a click on a face makes it the one its batches follow (kept at once), and
its mask, pads and name are saved with "Save". Deleting one a queued or running batch uses is
refused, naming the batches. The Batch tab takes presenters from here.
"""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from heygem.errors import HeygemError
from heygem.jobs import Presenter
from heygem.media import human_size
from heygem.settings import DEFAULT_MASK_FEATHER, DEFAULT_MASK_SIZE, DEFAULT_PADS, MASK_MODES
from heygem.states import TrackPrep
from heygem.web.batchtab import VIDEO_TYPES
from heygem.web.htmlparts import bar, fmt_duration
from heygem.web.i18n import request_lang, tr
from heygem.web.live import PRIVATE, TICK, Live
from heygem.web.rest import API_PREFIX
from heygem.web.service import Service, Upload

DEFAULTS = {"mask": "face", "mask_size": DEFAULT_MASK_SIZE, "mask_feather": DEFAULT_MASK_FEATHER}
WORKING = (TrackPrep.QUEUED, TrackPrep.RUNNING)  # tracks the tab's timer follows


def library_tab(service: Service, t, trials=None) -> Live:
    library = service.presenters
    timer = gr.Timer(1.0, active=False)
    added_last = gr.State(None)  # the presenter just added: picked once the pick offers it
    with gr.Row():
        with gr.Column(scale=1):
            files = gr.File(
                label=t("presenter_files"),
                file_count="multiple",
                file_types=VIDEO_TYPES,
                elem_id="hg-lib-files",
            )
            new_name = gr.Textbox(label=t("presenter_new_name"), elem_id="hg-lib-name")
            add = gr.Button(t("presenter_add"), variant="primary", elem_id="hg-lib-add")
            table = gr.HTML(elem_id="hg-lib-table")
        with gr.Column(scale=1):
            pick = gr.Dropdown(label=t("presenter_pick"), choices=[], elem_id="hg-lib-pick")
            frame = gr.Image(
                label=t("presenter_frame"), type="filepath", interactive=False, elem_id="hg-lib-frame"
            )
            status = gr.Markdown(elem_id="hg-lib-status")
            name = gr.Textbox(label=t("presenter_name"), elem_id="hg-lib-rename")
            with gr.Row():
                mask = gr.Radio(list(MASK_MODES), value="face", label=t("mask"), elem_id="hg-lib-mask")
                size = gr.Slider(-30, 60, value=DEFAULT_MASK_SIZE, step=1, label=t("mask_size"))
                feather = gr.Slider(0, 50, value=DEFAULT_MASK_FEATHER, step=1, label=t("mask_feather"))
            with gr.Row():
                pads = [
                    gr.Number(v, precision=0, minimum=0, maximum=200, label=k, min_width=60)
                    for k, v in zip("TBLR", DEFAULT_PADS, strict=True)
                ]
            with gr.Row():
                save = gr.Button(t("presenter_save"), elem_id="hg-lib-save")
                delete = gr.Button(t("presenter_delete"), variant="stop", elem_id="hg-lib-delete")

    def listing(selected, request: gr.Request):
        """The table, the pick (kept when it is still there) and the timer's state."""
        presenters = library.all()
        ids = [p.id for p in presenters]
        value = selected if selected in ids else (ids[0] if ids else None)
        choices = gr.update(choices=[(p.name, p.id) for p in presenters], value=value)
        working = any(p.track in WORKING for p in presenters)
        return library_html(service, presenters, request_lang(request)), choices, gr.Timer(active=working)

    listed = [table, pick, timer]

    def added(paths, given_name, request: gr.Request):
        lang = request_lang(request)
        if not paths:
            raise gr.Error(tr("presenter_need_file", lang))
        last = None
        for path in paths:
            try:
                last, new = library.add(Upload.of(path), given_name if len(paths) == 1 else None)
            except HeygemError as exc:
                gr.Warning(str(exc))
                continue
            gr.Info(tr("presenter_added" if new else "presenter_known", lang, name=last.name))
        return (last.id if last else gr.skip()), None, ""

    def shown(ref, request: gr.Request):
        """The picked presenter's first frame, its name and its own settings in the controls."""
        if not ref:
            return None, "", "", "face", DEFAULT_MASK_SIZE, DEFAULT_MASK_FEATHER, *DEFAULT_PADS
        presenter = library.get(ref)
        own = {**DEFAULTS, "pads": list(DEFAULT_PADS), **presenter.settings}
        image, text = _first_frame(presenter, request)
        return (image, text, presenter.name, own["mask"], own["mask_size"], own["mask_feather"], *own["pads"])

    def clicked(ref, evt: gr.SelectData, request: gr.Request):
        """A click on the first frame: the face there is the one this presenter's batches follow."""
        if not ref or evt.index is None:
            return gr.skip(), gr.skip()
        x, y = evt.index
        presenter = library.update(ref, settings={"face_point": [x, y]})
        image, text = _first_frame(presenter, request)
        return (
            image,
            f"{tr('presenter_face_kept', request_lang(request), x=x, y=y, name=presenter.name)} {text}",
        )

    def saved(ref, given_name, mode, grow, fade, top, bottom, left, right, request: gr.Request):
        if not ref:
            raise gr.Error(tr("presenter_pick_first", request_lang(request)))
        chosen = {"mask": mode, "mask_size": grow, "mask_feather": fade}
        own = {k: (None if v == DEFAULTS[k] else v) for k, v in chosen.items()}  # a default: not its own
        edges = [int(v or 0) for v in (top, bottom, left, right)]
        own["pads"] = None if tuple(edges) == DEFAULT_PADS else edges
        try:
            presenter = library.update(ref, given_name, own)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        gr.Info(tr("presenter_saved", request_lang(request), name=presenter.name))

    def deleted(ref, request: gr.Request):
        lang = request_lang(request)
        if not ref:
            raise gr.Error(tr("presenter_pick_first", lang))
        presenter = library.get(ref)
        users = service.store.presenter_users(presenter.id)
        if users:
            gr.Warning(tr("presenter_in_use", lang, name=presenter.name, batches=", ".join(users)))
            return
        try:
            library.delete(presenter.id)
        except HeygemError as exc:  # a batch took it meanwhile
            raise gr.Error(str(exc)) from None
        gr.Info(tr("presenter_deleted", lang, name=presenter.name))

    controls = [frame, status, name, mask, size, feather, *pads]
    add.click(added, [files, new_name], [added_last, files, new_name], **PRIVATE).then(
        listing, added_last, listed, **PRIVATE
    )
    pick.change(shown, pick, controls, **PRIVATE)
    frame.select(clicked, pick, [frame, status], **PRIVATE).then(listing, pick, listed, **PRIVATE)
    save.click(saved, [pick, name, mask, size, feather, *pads], None, **PRIVATE).then(
        listing, pick, listed, **PRIVATE
    )
    delete.click(deleted, pick, None, **PRIVATE).then(listing, pick, listed, **PRIVATE)
    timer.tick(listing, pick, listed, **TICK)

    def _first_frame(presenter: Presenter, request) -> tuple[str | None, str]:
        lang = request_lang(request)
        if trials is None:
            return presenter.thumbnail, ""
        try:
            found = trials.first_frame(Path(presenter.file), presenter.settings.get("face_point"))
        except HeygemError as exc:
            return presenter.thumbnail, str(exc)
        text = tr("faces_found", lang, n=len(found.boxes)) if found.boxes else tr("no_face_found", lang)
        return str(found.path), text

    return Live(timer, listing, [pick], listed)


def library_html(service: Service, presenters: list[Presenter], lang: str) -> str:
    """The library as a table: thumbnail, name, file, its own settings, its face track."""
    if not presenters:
        return f'<div class="hg-library" data-presenters="0">{html.escape(tr("presenter_none", lang))}</div>'
    rows = []
    for p in presenters:
        thumb = f'<img src="{API_PREFIX.lstrip("/")}/presenters/{p.id}/thumbnail.jpg" style="height:54px">'
        length = fmt_duration(p.duration) if p.duration else tr("presenter_still", lang)
        own = ", ".join(f"{k} {v}" for k, v in p.settings.items()) or "–"
        track = html.escape(tr(f"track_{p.track}", lang, error=p.track_error or ""))
        if p.track == TrackPrep.RUNNING:
            track += bar(p.track_progress)
        users = service.store.presenter_users(p.id)
        used = (
            f"<br><small>{html.escape(tr('presenter_used_by', lang, batches=', '.join(users)))}</small>"
            if users
            else ""
        )
        rows.append(
            f'<tr class="hg-presenter" data-id="{p.id}" data-track="{p.track}"><td>{thumb if p.thumbnail else ""}</td>'
            f"<td><b>{html.escape(p.name)}</b>{used}<br><small>{html.escape(p.original)} · "
            f"{html.escape(human_size(p.size))} · {p.width}×{p.height} · {html.escape(length)}</small></td>"
            f"<td>{html.escape(own)}</td><td>{track}</td></tr>"
        )
    head = "".join(
        f"<th>{html.escape(tr(k, lang))}</th>" for k in ("col_look", "col_presenter", "col_own", "col_track")
    )
    table = f'<table class="hg-items"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="hg-library" data-presenters="{len(presenters)}">{table}</div>'
