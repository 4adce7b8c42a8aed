#!/usr/bin/env python3
"""Check the internal links of a built HTML site (``make docs`` runs it on docs/_build/html).

Every relative ``href``/``src`` of every page must name a file inside the site, and every
``#fragment`` must be an ``id`` (or ``name``) on the page it points to. External links (anything
with a scheme: ``https:``, ``mailto:``, ``data:``...) are not checked: the build is offline, and
Sphinx's own ``linkcheck`` builder would need the network for them.

Usage: ``python scripts/check_doc_links.py docs/_build/html``. Prints each broken link with the page
it is on and exits 1 when there is any; exits 0 (printing a one-line count) when all resolve.
"""

from __future__ import annotations

import argparse
import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"href", "src", "xlink:href", "poster", "data"}
"""Attributes that hold a URL (``data`` is <object>'s; others, such as ``srcset``, are not used
by Sphinx's output)."""


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, int]] = []  # (tag, url, line)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                self.ids.add(value)
            elif name in LINK_ATTRS and not (tag == "object" and name != "data"):
                self.links.append((tag, value, self.getpos()[0]))

    handle_startendtag = handle_starttag


def _parse(path: str) -> _Page:
    page = _Page()
    with open(path, encoding="utf-8", errors="replace") as f:
        page.feed(f.read())
    page.close()
    return page


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme) or url.startswith("//")


def _pages(site: str) -> list[str]:
    """The site's pages: its .html files outside ``_static/``, which holds assets copied as they
    are (pydata-sphinx-theme puts a Jinja template, ``webpack-macros.html``, there)."""
    static = os.path.join(site, "_static")
    return sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(site)
        if folder != static and not folder.startswith(static + os.sep)
        for name in names
        if name.endswith(".html")
    )


def check(site: str) -> list[str]:
    """Every broken internal link of the site under ``site``, as ``page:line: message`` lines."""
    site = os.path.realpath(site)
    pages: dict[str, _Page] = {}

    def page_of(path: str) -> _Page:
        if path not in pages:
            pages[path] = _parse(path)
        return pages[path]

    html_files = _pages(site)
    problems: list[str] = []
    for source in html_files:
        rel_source = os.path.relpath(source, site)
        for tag, url, line in page_of(source).links:
            url = url.strip()
            if not url or _is_external(url):
                continue
            parts = urlsplit(url)
            fragment = unquote(parts.fragment)
            if parts.path:
                target = os.path.realpath(os.path.join(os.path.dirname(source), unquote(parts.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
            else:
                target = source
            where = f"{rel_source}:{line}: <{tag}> {url}"
            if target != site and not target.startswith(site + os.sep):
                problems.append(f"{where}: points outside the site ({target})")
                continue
            if not os.path.isfile(target):
                problems.append(f"{where}: no such file {os.path.relpath(target, site)}")
                continue
            if fragment and target.endswith(".html") and fragment not in page_of(target).ids:
                problems.append(f"{where}: no id {fragment!r} in {os.path.relpath(target, site)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", help="the built HTML folder, e.g. docs/_build/html")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.site, "index.html")):
        print(f"check_doc_links: {args.site} holds no index.html (build the site first: make docs)", file=sys.stderr)
        return 2
    problems = check(args.site)
    for line in problems:
        print(line)
    if problems:
        print(f"check_doc_links: {len(problems)} broken internal link(s)", file=sys.stderr)
        return 1
    print(f"check_doc_links: every internal link of {len(_pages(os.path.realpath(args.site)))} pages resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
