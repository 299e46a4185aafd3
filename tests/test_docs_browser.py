"""The built documentation in a real browser (``make docs-check``).

Each page of ``docs/_build/html`` is opened in headless Chromium (Debian's
``chromium`` package), which runs its scripts: the maths must have been
typeset by the bundled MathJax, and the page must request nothing outside
the site (the pages are files, so any network request is one). The test
is marked ``docs``: ``make test`` leaves it out, ``make docs-check``
builds the pages and runs it.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.docs

HTML = pathlib.Path(os.environ.get(
    'BLOCKS_DOCS_HTML',
    pathlib.Path(__file__).resolve().parent.parent / 'docs' / '_build' /
    'html'))
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
PAGES = sorted(HTML.glob('*.html'))

# A fresh profile each time; nothing of the browser's own runs that would
# reach the network (its requests are told apart below anyway).
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
         '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--virtual-time-budget=10000']


def open_page(page, tmp_path):
    """(the DOM after the page's scripts ran, the URLs it requested)."""
    net_log = tmp_path / 'net-log.json'
    result = subprocess.run(
        [CHROMIUM] + FLAGS + [
            '--user-data-dir={}'.format(tmp_path / 'profile'),
            '--log-net-log={}'.format(net_log), '--dump-dom',
            page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, page_requests(json.loads(net_log.read_text()))


def page_requests(net_log):
    """The URLs of the network requests a page made: those with an
    initiator (the browser's own requests have none)."""
    names = {number: name for name, number
             in net_log['constants']['logEventTypes'].items()}
    urls = set()
    for event in net_log['events']:
        params = event.get('params', {})
        if (names.get(event['type']) == 'URL_REQUEST_START_JOB'
                and 'url' in params
                and params.get('initiator') != 'not an origin'):
            urls.add(params['url'])
    return sorted(urls)


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed '
                    '(apt-get install chromium)')
@pytest.mark.skipif(not PAGES, reason='the docs are not built (make docs)')
@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_page_renders_its_maths_offline(page, tmp_path):
    source = page.read_text()
    formulas = len(re.findall(r'class="math[ "]', source))
    dom, requests = open_page(page, tmp_path)
    assert requests == [], 'requests outside the site: {}'.format(requests)
    assert '<mjx-merror' not in dom
    assert dom.count('<mjx-container') == formulas
    if formulas:
        assert 'mathjax/tex-chtml.js' in source  # the bundled copy
