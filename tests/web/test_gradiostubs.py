"""The app imports Gradio without it rewriting its type stubs (heygem.web.gradiostubs)."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: event == "open" and opened.append(str(args[0])))
{first}
import gradio as gr
with gr.Blocks() as demo:
    box = gr.Textbox()
    gr.Button("Go").click(lambda s: s.upper(), box, box)
print(json.dumps({{
    "stubs": sum(path.endswith(".pyi") for path in opened),
    "events": len(demo.fns),
}}))
"""


def run(first: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(first=first)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_web_layer_imports_gradio_without_touching_its_stubs():
    plain = run("")
    ours = run("import heygem.web")
    assert plain["stubs"] > 20  # what Gradio does on its own: reads (and may write) a stub per component
    assert ours["stubs"] == 0
    assert ours["events"] == plain["events"] == 1  # components and their events still work
