"""Check the built documentation as a reader sees it, in a real browser.

Opens every page of the built site from disk in headless Chromium (Debian's
``chromium`` package, driven through Playwright's Python API) with networking
off, at desktop width (1400 px) and at phone width (390 px), and asserts:

* nothing is wider than its column: no sideways scrolling, no heading, page
  title, navigation link or prev/next link overflowing, and at desktop width no
  display equation wider than the text;
* the maths is rendered (MathJax shipped with the site; no raw ``\\(``);
* every image has loaded, and every gallery page shows its figure;
* no page asks the network for anything (MathJax from a CDN, say);
* no words a reader cannot resolve ("spec §", "paper A"), and every arXiv id
  in the text is a link;
* the home page lists the ten papers and "Reproducing the papers" lists exactly
  the registered reproductions;
* every API page of an object used in the gallery says so ("Examples using");
* "API reference" and "Changelog" show in the header at 1400 px;
* the search page returns results for a list of queries, offline from disk;
  served over loopback HTTP, its snippets show no raw TeX, and no "Computation
  times" page is a result.

It saves screenshots of a fixed set of pages under ``BUILD/_screenshots``.
If Chromium cannot be started the check says so and fails: it never passes
without having looked.

Usage::

    python docs/check_site.py [BUILD_DIR] [--chromium PATH]

Exit status 0 when every check passes, 1 when one fails, 2 when the browser
or the build is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = [
    "index.html",
    "api/generated/mltheory.dynamics.dmft.solve_dmft.html",
    "theory/fast_slow.html",
    "theory/dmft_sgf.html",
    "reproduce.html",
    "auto_examples/index.html",
]
SEARCH_QUERIES = [
    "solve_dmft",
    "mean-field",
    "Newton-Schulz",
    "phase retrieval",
    "shuffled regression",
    "MaskGIT",
    "Hermite",
    "divergence",
]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

PAGE_JS = (Path(__file__).parent / "check_site.js").read_text()


class Problems:
    """Problems found, grouped by check, with the page each was seen on."""

    def __init__(self) -> None:
        self.by_check: dict[str, list[str]] = defaultdict(list)

    def add(self, check: str, where: str, message: str) -> None:
        self.by_check[check].append(f"{where}: {message}")

    def report(self) -> int:
        if not self.by_check:
            return 0
        total = sum(map(len, self.by_check.values()))
        print(f"check_site: {total} problem(s)")
        for check, items in sorted(self.by_check.items()):
            print(f"  [{check}] {len(items)}")
            for item in items[:12]:
                print(f"    {item}")
            if len(items) > 12:
                print(f"    ... and {len(items) - 12} more")
        return 1


def _find_chromium(given: str | None) -> str | None:
    for candidate in (
        given,
        os.environ.get("MLTHEORY_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _pages(build: Path) -> list[Path]:
    skip = {"_modules", "_sources", "_static", "_images", "_downloads", "_screenshots"}
    pages = []
    for page in sorted(build.rglob("*.html")):
        rel = page.relative_to(build)
        if skip & set(rel.parts) or rel.name in ("genindex.html", "search.html"):
            continue
        pages.append(page)
    return pages


def _examples_users(srcdir: Path) -> set[str]:
    """Objects that appear in the gallery (sphinx-gallery's backreferences)."""
    backrefs = srcdir / "gen_modules" / "backreferences"
    return {
        p.name[: -len(".examples")]
        for p in backrefs.glob("*.examples")
        if "sphx-glr" in p.read_text()
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None


@contextlib.contextmanager
def _serve(build: Path):
    """Serve the build folder on a free loopback port while the block runs."""
    handler = functools.partial(_QuietHandler, directory=str(build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


async def _search_results(page, url: str) -> list[tuple[str, str]]:
    await page.goto(url)
    await page.wait_for_function(
        "() => { const s = document.querySelector('#search-results');"
        " return s && (s.querySelector('li') || /found|did not match|no results/i"
        ".test(s.textContent)); }",
        timeout=15000,
    )
    return await page.eval_on_selector_all(
        "#search-results li",
        "els => els.map(e => [e.querySelector('a') ? e.querySelector('a')"
        ".getAttribute('href') : '', e.textContent])",
    )


async def _check_page(page, path: Path, rel: str, users: set[str], problems) -> None:
    await page.set_viewport_size(DESKTOP)
    await page.goto(path.as_uri())
    for check_name, msg in await page.evaluate(PAGE_JS, True):
        problems.add(check_name, f"{rel} @1400", msg)
    if rel.startswith("auto_examples/") and Path(rel).name.startswith("plot_"):
        n_fig = await page.eval_on_selector_all(
            "img.sphx-glr-single-img, img.sphx-glr-multi-img",
            "els => els.filter(e => e.complete && e.naturalWidth > 0).length",
        )
        if n_fig == 0:
            problems.add("gallery", rel, "the example shows no figure")
    if rel.startswith("api/generated/"):
        name = Path(rel).stem
        text = await page.inner_text("article")
        if name in users and "Examples using" not in text:
            problems.add(
                "gallery",
                rel,
                f"{name} is used in the gallery, but its page has no "
                "'Examples using' section",
            )
    await page.set_viewport_size(PHONE)
    for check_name, msg in await page.evaluate(PAGE_JS, False):
        if check_name == "width":
            problems.add(check_name, f"{rel} @390", msg)


async def _check(
    build: Path, chromium: str, pages: list[Path], users: set[str], workers: int
) -> Problems:
    from playwright.async_api import async_playwright

    from mltheory.reproduce import list_reproductions
    from mltheory.reproduce._papers import PAPERS

    problems = Problems()
    shots = build / "_screenshots"
    shots.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        try:
            browser = await pw.chromium.launch(
                executable_path=chromium, args=CHROMIUM_FLAGS
            )
        except Exception as err:  # installed, but it will not start
            problems.add("browser", chromium, f"Chromium did not start: {err}")
            return problems
        context = await browser.new_context(viewport=DESKTOP, offline=True)

        async def block(route) -> None:  # networking off: record and refuse
            url = route.request.url
            if url.startswith(("file:", "data:", "blob:")):
                await route.continue_()
            else:
                frame = route.request.frame
                where = frame.url if frame is not None else "?"
                problems.add("network", where.replace(build.as_uri(), ""), url)
                await route.abort()

        await context.route("**/*", block)
        queue: asyncio.Queue[Path] = asyncio.Queue()
        for path in pages:
            queue.put_nowait(path)

        async def worker() -> None:
            page = await context.new_page()
            current = [""]
            page.on(
                "pageerror",
                lambda exc: problems.add("javascript", current[0], str(exc)),
            )
            while not queue.empty():
                path = queue.get_nowait()
                current[0] = rel = path.relative_to(build).as_posix()
                await _check_page(page, path, rel, users, problems)
            await page.close()

        await asyncio.gather(*(worker() for _ in range(workers)))

        page = await context.new_page()
        # The home page and the reproductions page come from the package.
        await page.goto((build / "index.html").as_uri())
        rows = await page.eval_on_selector_all(
            "table.mltheory-papers tbody tr", "r => r.length"
        )
        if rows != len(PAPERS) or len(PAPERS) != 10:
            problems.add("papers", "index.html", f"{rows} paper rows; expected 10")
        header = await page.eval_on_selector_all(
            ".bd-header .navbar-header-items a.nav-link",
            "els => els.filter(e => e.offsetParent !== null"
            " && !e.closest('.dropdown-menu')).map(e => e.textContent.trim())",
        )
        for wanted in ("API reference", "Changelog"):
            if wanted not in header:
                problems.add(
                    "header",
                    "index.html",
                    f"{wanted!r} is not visible in the header at 1400 px "
                    f"(visible: {header})",
                )
        await page.goto((build / "reproduce.html").as_uri())
        listed = set(
            await page.eval_on_selector_all(
                "article dl dt code, article dl dt span.pre",
                "els => els.map(e => e.textContent.trim())",
            )
        )
        registered = set(list_reproductions())
        if not registered <= listed:
            problems.add(
                "reproductions",
                "reproduce.html",
                f"missing from the page: {sorted(registered - listed)}",
            )

        for name in SCREENSHOTS:
            if not (build / name).exists():
                continue
            for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                await page.set_viewport_size(size)
                await page.goto((build / name).as_uri())
                await page.evaluate(PAGE_JS, False)  # waits for the maths
                out = shots / f"{name.replace('/', '_')[:-5]}-{label}.png"
                await page.screenshot(path=str(out))
        await page.set_viewport_size(DESKTOP)

        # Search from disk, offline: results for every query.
        for query in SEARCH_QUERIES:
            url = (build / "search.html").as_uri() + "?q=" + quote(query)
            try:
                results = await _search_results(page, url)
            except Exception as err:
                problems.add("search", f"q={query!r}", f"no answer: {err}")
                continue
            if not results:
                problems.add("search", f"q={query!r}", "no results")
        await page.screenshot(path=str(shots / "search-desktop.png"))
        await context.close()

        # Snippets need the pages over HTTP (fetch() refuses file://): loopback.
        with _serve(build) as base:
            ctx = await browser.new_context(viewport=DESKTOP)

            async def local_only(route) -> None:
                if route.request.url.startswith(base):
                    await route.continue_()
                else:
                    await route.abort()

            await ctx.route("**/*", local_only)
            pg = await ctx.new_page()
            for query in ("computation times", "delta", "Gaussian expectation"):
                results = await _search_results(
                    pg, f"{base}/search.html?q={quote(query)}"
                )
                if any("sg_execution_times" in href for href, _ in results):
                    problems.add(
                        "search",
                        f"q={query!r}",
                        "a 'Computation times' page is a result",
                    )
                with contextlib.suppress(Exception):
                    await pg.wait_for_function(
                        "() => document.querySelectorAll('#search-results p.context')"
                        ".length > 0",
                        timeout=5000,
                    )
                snippets = await pg.eval_on_selector_all(
                    "#search-results p.context", "els => els.map(e => e.textContent)"
                )
                for s in snippets:
                    if re.search(r"\\[A-Za-z]+|\\\(|\\\[", s):
                        problems.add(
                            "search",
                            f"q={query!r}",
                            f"raw TeX in a snippet: {s[:80]!r}",
                        )
            await ctx.close()
        await browser.close()
    return problems


def check(
    build: Path, chromium: str, srcdir: Path, only: str | None = None, workers: int = 3
) -> int:
    """Run every check on the site built in ``build``; return the exit status."""
    pages = _pages(build)
    if only is not None:
        pages = [p for p in pages if only in p.relative_to(build).as_posix()]
    elif len(pages) < 20:
        print(f"check_site: only {len(pages)} pages under {build}; build the docs")
        return 2
    start = time.time()
    problems = asyncio.run(
        _check(build, chromium, pages, _examples_users(srcdir), workers)
    )
    status = problems.report()
    print(
        f"check_site: {len(pages)} pages at 1400 px and 390 px, "
        f"{len(SEARCH_QUERIES)} searches, screenshots in {build / '_screenshots'} "
        f"({time.time() - start:.0f} s): {'FAILED' if status else 'all checks pass'}"
    )
    return status


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build", nargs="?", default=str(here / "_build" / "html"))
    parser.add_argument("--chromium", default=None, help="path to the Chromium binary")
    parser.add_argument(
        "--only", default=None, help="check only pages whose path contains this text"
    )
    parser.add_argument(
        "--workers", type=int, default=3, help="pages checked at once (default: 3)"
    )
    args = parser.parse_args(argv)
    build = Path(args.build).resolve()
    if not (build / "index.html").exists():
        print(f"check_site: no built site at {build} (run sphinx-build first)")
        return 2
    chromium = _find_chromium(args.chromium)
    if chromium is None:
        print(
            "check_site: no Chromium found. Install Debian's package "
            "(apt-get install chromium) or pass --chromium PATH. The site was NOT "
            "checked."
        )
        return 2
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        print(
            "check_site: Playwright is missing (pip install 'mltheory[docs]'); "
            "the site was NOT checked."
        )
        return 2
    return check(build, chromium, here, args.only, args.workers)


if __name__ == "__main__":
    sys.exit(main())
