"""Try mmhaze's models on your own VIS + IR pair in the browser (Gradio; CPU).

    pip install -e .[demo]
    python demo/gradio_demo.py [--host 127.0.0.1] [--port 7860] [--cache-dir DIR] \
        [--zoo-dir DIR] [--release NAME=PATH ...] [--work-dirs DIR ...] \
        [--checkpoint CONFIG CKPT ...] [--threads N]

Pick a model or pipeline (see ``demo/demo_models.py`` for what is offered), upload a hazy
visible image and its registered infrared partner — or pick an example — and run: the page
shows the input, the dehazed and the fused image side by side, a before/after slider, the
fusion and no-reference metrics of the fused image, and the PNGs to download. Bad input is one
message in the page. The server listens on 127.0.0.1 unless ``--host`` says otherwise.
"""
from __future__ import annotations

import argparse
import atexit
import itertools
import os
import os.path as osp
import shutil
import sys
import tempfile
from typing import Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import demo_models  # noqa: E402  (the demo's core, beside this file)

from mmhaze.utils.cli import add_threads_option  # noqa: E402

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # nothing leaves the machine
# One pair at a time: compiling the metric kernels (minutes on a small CPU) costs more than it
# saves; MMHAZE_COMPILE_METRICS=auto in the environment turns it back on.
os.environ.setdefault('MMHAZE_COMPILE_METRICS', '0')

TITLE = 'mmhaze: seeing through haze with a second sensor'
DESCRIPTION = ('Upload a hazy visible image (VIS) and its pixel-registered infrared or '
               'near-infrared partner (IR), or pick an example, choose a model, and run. '
               'Everything runs on the CPU of this machine.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmhaze browser demo (Gradio)')
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on '
                                                            '(default: 127.0.0.1 only)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--cache-dir', default=None,
                        help='converted zoo weights and the rendered examples '
                             '(default: ~/.cache/mmhaze/demo)')
    parser.add_argument('--zoo-dir', default=None,
                        help='folder of the zoo release files (default: '
                             '$MMHAZE_SHARED_DATA/zoo)')
    parser.add_argument('--release', nargs='+', default=[], metavar='NAME=PATH',
                        help='a release file given by hand, e.g. seafusion=SeAFusion.pth')
    parser.add_argument('--work-dirs', nargs='+', default=['work_dirs'],
                        help='where to look for trained models (default: work_dirs)')
    parser.add_argument('--checkpoint', nargs=2, action='append', default=[],
                        metavar=('CONFIG', 'CKPT'), help='a trained model to offer')
    add_threads_option(parser)
    args = parser.parse_args(argv)
    releases = {}
    for item in args.release:
        name, sep, path = item.partition('=')
        if not sep or name not in demo_models.ZOO_RELEASES:
            parser.error(f'--release {item}: use NAME=PATH with NAME one of '
                         f'{list(demo_models.ZOO_RELEASES)}')
        releases[name] = path
    args.releases = releases
    return args


def format_metrics(metrics: dict, directions: Optional[dict] = None) -> str:
    """The metrics as a Markdown table (↑/↓/→0 by each metric's direction)."""
    if not metrics:
        return ''
    if directions is None:
        from mmhaze.evaluation.functional.metric_registry import metric_direction, metric_keys
        directions = {key: metric_direction(key) for key in metric_keys()}
    lines = ['| metric | value |', '|---|---:|']
    for key, value in metrics.items():
        shown = f'{value:.4f}' if isinstance(value, float) else str(value)
        lines.append(f'| {key}{directions.get(key, "")} | {shown} |')
    return '\n'.join(lines)


def _save_outputs(result: demo_models.PairResult, model_name: str, folder: str,
                  number: int) -> list[str]:
    """The output PNGs for the download button, numbered by run."""
    from mmhaze.engine.hooks import write_png
    from mmhaze.visualization.result_figures import safe_name
    paths = []
    for what, image in (('fused', result.fused), ('dehazed', result.dehazed)):
        if image is not None:
            paths.append(osp.join(folder, f'{number:04d}_{safe_name(model_name)}_{what}.png'))
            write_png(paths[-1], image)
    return paths


def build_app(runner: demo_models.DemoRunner, models: list, examples: list):
    """The Gradio page (``gr.Blocks``); its run button is the API endpoint ``/run``."""
    import gradio as gr
    by_name = {m.name: m for m in models}
    # The downloads of this session, removed when the process ends.
    downloads_dir = tempfile.mkdtemp(prefix='mmhaze_demo_')
    atexit.register(shutil.rmtree, downloads_dir, ignore_errors=True)
    runs = itertools.count(1)

    # Gradio finds the progress bar by this default value: its documented form.
    def run(model_name, vis_file, ir_file, progress=gr.Progress()):  # noqa: B008
        model = by_name.get(model_name)
        if model is None:
            return None, None, None, None, '', f'Unknown model {model_name!r}.', None
        result = runner.run_pair(model, vis_file, ir_file,
                                 progress=lambda f, d: progress(f, desc=d))
        if result.error:
            return None, None, None, None, '', f'**Error:** {result.error}', None
        slider = (result.vis, result.fused) if result.fused is not None else None
        notes = ' '.join(result.notes) or f'Done: {model.name} ({model.kind}).'
        return (result.vis, result.dehazed, result.fused, slider,
                format_metrics(result.metrics), notes,
                _save_outputs(result, model.name, downloads_dir, next(runs)))

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f'# {TITLE}\n{DESCRIPTION}')
        with gr.Row():
            model_menu = gr.Dropdown([m.name for m in models], value=models[0].name,
                                     label='Model or pipeline', elem_id='model-menu')
        with gr.Row():
            vis_file = gr.File(label='Hazy visible image (VIS)', type='filepath',
                               elem_id='vis-file')
            ir_file = gr.File(label='Infrared / near-infrared image (IR)', type='filepath',
                              elem_id='ir-file')
        gr.Examples([[vis, ir] for _, vis, ir in examples], inputs=[vis_file, ir_file],
                    example_labels=[title for title, _, _ in examples], label='Examples')
        run_button = gr.Button('Run', variant='primary', elem_id='run-button')
        message = gr.Markdown(elem_id='message')
        with gr.Row():
            vis_out = gr.Image(label='input (VIS)', format='png', elem_id='vis-output')
            dehazed_out = gr.Image(label='dehazed', format='png', elem_id='dehazed-output')
            fused_out = gr.Image(label='fused', format='png', elem_id='fused-output')
        with gr.Row():
            slider = gr.ImageSlider(label='before / after (input | fused)', format='png',
                                    elem_id='slider')
            with gr.Column():
                metrics = gr.Markdown(elem_id='metrics')
                downloads = gr.File(label='download', file_count='multiple',
                                    elem_id='downloads')
        run_button.click(run, [model_menu, vis_file, ir_file],
                         [vis_out, dehazed_out, fused_out, slider, metrics, message, downloads],
                         api_name='run')
    return app


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.utils.threads import configure_threads
    configure_threads(args.threads)  # before torch loads: OpenMP reads it once
    try:
        runner = demo_models.DemoRunner(args.cache_dir, args.zoo_dir, args.releases)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    models = demo_models.available_models(args.zoo_dir, args.releases, args.work_dirs,
                                          [tuple(c) for c in args.checkpoint])
    examples = demo_models.write_examples(runner.cache_dir)
    app = build_app(runner, models, examples)
    print(f'{len(models)} models: ' + '; '.join(m.name for m in models))
    launch(app, examples, args.host, args.port)
    return 0


def launch(app, examples: list, host: str = '127.0.0.1', port: int = 7860,
           block: bool = True):
    """Serve the page (``block=False``: in a background thread; ``app.close()`` stops it)."""
    import gradio as gr
    # System fonts only: the page must work without reaching any font server.
    theme = gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'],
                              font_mono=['ui-monospace', 'monospace'])
    folders = sorted({osp.dirname(p) for _, vis, ir in examples for p in (vis, ir)})
    return app.launch(server_name=host, server_port=port, allowed_paths=folders,
                      ssr_mode=False, footer_links=[], theme=theme, quiet=True,
                      prevent_thread_lock=not block)


if __name__ == '__main__':
    sys.exit(main())
