# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration of the capstore documentation ("make docs",
# Documentation/Makefile). Needs only Debian's python3-sphinx.
#
# The "kernel-doc" directive below puts the kernel-doc comments of a source
# file into a page, through the kernel's scripts/kernel-doc (from
# linux-kbuild-6.1, which linux-headers-amd64 brings, or $KERNELDOC). Where
# there is none, the page shows the file itself instead.

import glob
import os
import subprocess

from docutils import nodes, statemachine
from docutils.parsers.rst import Directive
from sphinx.util import logging

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

project = 'capstore'
author = 'the capstore developers'
copyright = 'the capstore developers'
root_doc = master_doc = 'index'
exclude_patterns = ['_build']
primary_domain = 'c'
highlight_language = 'none'
html_theme = 'alabaster'
html_title = 'capstore'
html_show_sourcelink = False

# Pages other engineers write; the index names them, and the build leaves
# them out of the table of contents until they exist.
OPTIONAL_DOCS = ('capabilities', 'benchmarks')

logger = logging.getLogger('capstore')


def find_kernel_doc():
    env = os.environ.get('KERNELDOC')
    if env:
        return env
    for pattern in ('/usr/lib/linux-kbuild-*/scripts/kernel-doc',
                    '/lib/modules/*/build/scripts/kernel-doc',
                    '/usr/src/linux-headers-*/scripts/kernel-doc'):
        found = sorted(glob.glob(pattern), reverse=True)
        if found:
            return found[0]
    return None


class KernelDoc(Directive):
    """.. kernel-doc:: PATH (relative to the top of the source tree)"""

    required_arguments = 1
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        path = os.path.join(TOP, self.arguments[0])
        env.note_dependency(path)
        kernel_doc = find_kernel_doc()
        if not kernel_doc:
            logger.info('kernel-doc not found (linux-kbuild-6.1): %s shown '
                        'as it is', self.arguments[0])
            with open(path, encoding='utf-8') as f:
                text = f.read()
            block = nodes.literal_block(text, text)
            block['language'] = 'c'
            return [block]
        res = subprocess.run(['perl', kernel_doc, '-rst', path],
                             capture_output=True, text=True, check=False)
        for line in res.stderr.splitlines():
            if line.strip():
                logger.warning('kernel-doc: %s', line,
                               location=(env.docname, self.lineno))
        if res.returncode != 0:
            logger.warning('kernel-doc failed on %s (exit status %d)',
                           self.arguments[0], res.returncode,
                           location=(env.docname, self.lineno))
        lines = statemachine.string2lines(res.stdout, tab_width=8,
                                          convert_whitespace=True)
        content = statemachine.ViewList()
        for i, line in enumerate(lines):
            content.append(line, path, i)
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(content, 0, node, match_titles=True)
        return node.children


def drop_missing_optional_docs(app, docname, source):
    if docname != root_doc:
        return
    kept = []
    for line in source[0].splitlines(keepends=True):
        name = line.strip()
        if name in OPTIONAL_DOCS and not os.path.exists(
                os.path.join(app.srcdir, name + '.rst')):
            logger.info('index: %s.rst does not exist yet, left out', name)
            continue
        kept.append(line)
    source[0] = ''.join(kept)


def setup(app):
    app.add_directive('kernel-doc', KernelDoc)
    app.connect('source-read', drop_missing_optional_docs)
    return {'parallel_read_safe': True}
