"""The demo page in a real browser: the Gradio app on 127.0.0.1, headless Chromium loads it,
runs an example through the page's own API (upload, /gradio_api/call/run) and through its
buttons, and the fused image arrives. Skipped with the reason when gradio or Chromium is
missing (``pip install -e .[demo]``; ``apt-get install chromium``, which .ci/run does)."""
import base64
import json
import socket

import cv2
import numpy as np
import pytest
from browser_helpers import Chromium, find_chromium
from helpers import load_demo

pytestmark = [
    pytest.mark.skipif(find_chromium() is None,
                       reason='no Chromium (apt-get install chromium; .ci/run installs it)'),
]
gradio = pytest.importorskip('gradio', reason='gradio is not installed (pip install -e .[demo])')

# Uploads both example files through the page's upload endpoint, calls the run endpoint as the
# page does, reads the event stream's "complete" data and decodes the fused image it names.
RUN_THROUGH_API = """
(async () => {
  const upload = async (url, name) => {
    const blob = await (await fetch(url)).blob();
    const form = new FormData();
    form.append('files', blob, name);
    const paths = await (await fetch('/gradio_api/upload', {method: 'POST', body: form})).json();
    return {path: paths[0], orig_name: name, meta: {_type: 'gradio.FileData'}};
  };
  const vis = await upload(%(vis)s, 'vis.png');
  const ir = await upload(%(ir)s, 'ir.png');
  const call = await (await fetch('/gradio_api/call/run', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({data: [%(model)s, vis, ir]})})).json();
  const stream = await (await fetch('/gradio_api/call/run/' + call.event_id)).text();
  const lines = stream.split('\\n');
  const at = lines.indexOf('event: complete');
  if (at < 0) { return {stream: stream}; }
  const data = JSON.parse(lines[at + 1].slice('data: '.length));
  const image = new Image();
  image.src = data[2].url;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  canvas.getContext('2d').drawImage(image, 0, 0);
  return {width: image.naturalWidth, height: image.naturalHeight, message: data[5],
          png: canvas.toDataURL('image/png')};
})()
"""
CLICK_BY_TEXT = """
(() => {
  const b = Array.from(document.querySelectorAll('button')).find(
    x => x.textContent.trim() === %s);
  if (b) { b.click(); }
  return !!b;
})()
"""
FUSED_IMAGE = """
(() => {
  const i = document.querySelector('#fused-output img');
  return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null;
})()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    demo_models = load_demo('demo_models')
    gradio_demo = load_demo('gradio_demo')
    runner = demo_models.DemoRunner(str(tmp_path_factory.mktemp('cache')))
    examples = demo_models.write_examples(runner.cache_dir, size=64)[:1]  # thermal scene
    models = list(demo_models.TRAINING_FREE[:1])
    app = gradio_demo.build_app(runner, models, examples)
    port = _free_port()
    gradio_demo.launch(app, examples, '127.0.0.1', port, block=False)
    try:
        yield f'http://127.0.0.1:{port}/', runner, models[0], examples[0]
    finally:
        app.close()


def test_demo_page_runs_an_example_in_chromium(served, tmp_path):
    from mmhaze.apis import FusionInferencer
    url, runner, model, (title, vis, ir) = served
    with Chromium() as browser:
        page = browser.new_page(1280, 1000)
        page.goto(url)
        page.wait_for("document.querySelector('#run-button') !== null", timeout=40)
        assert 'mmhaze: seeing through haze' in page.dom()

        # the page's own API: upload, call /run, read the result, decode the fused image
        files = f'{url}gradio_api/file='
        out = page.evaluate(RUN_THROUGH_API % dict(vis=json.dumps(files + vis),
                                                   ir=json.dumps(files + ir),
                                                   model=json.dumps(model.name)), timeout=60)
        assert 'width' in out, out  # the page's error, when /run failed
        assert (out['width'], out['height']) == (64, 64), out
        assert out['message'].startswith('Done: ')
        png = base64.b64decode(out['png'].split(',', 1)[1])
        fused = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
        expected = FusionInferencer(runner.config(model), device='cpu')(vis, ir)['fused']
        np.testing.assert_array_equal(fused, expected)  # the PNG the page got, pixel for pixel

        # and through the page's buttons: pick the example, run, the fused image appears
        assert page.evaluate(CLICK_BY_TEXT % json.dumps(title))
        page.wait_for("document.querySelector('#vis-file').innerText.includes('.png')", 20)
        page.evaluate("document.querySelector('#run-button').click()")
        assert page.wait_for(FUSED_IMAGE, timeout=40) == [64, 64]
        page.wait_for("document.querySelector('#message').innerText.startsWith('Done')", 20)
        metrics = page.evaluate("document.querySelector('#metrics').innerText")
        assert 'MI↑' in metrics and 'Qabf↑' in metrics
        shot = page.screenshot(str(tmp_path / 'demo.png'))
        image = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[:2] == (1000, 1280) and image.std() > 10  # not a blank page
