"""Time `publisher build` on generated sites, side by side with Hugo when it is installed.

    .venv/bin/python bench/build.py            # 1,000 and 10,000 posts
    .venv/bin/python bench/build.py --sizes 1000 --runs 1

Prints wall time, posts per second and peak memory (the build process's own maximum RSS),
median of --runs runs, for: a cold build with the default limit of 20, a cold build with every
entry in every feed, a rebuild where nothing changed, a rebuild with one post edited (one from
the middle of the archive, and the newest; with either limit) or added (the newest, limit 20),
and a cold build of the same posts as a Jekyll site (limit 20). Beside them, floors for the
builds with little to do: Python's start and a stat of every post, and that with the imports
that rendering one post needs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

CATEGORIES = [f"Category {n}" for n in range(10)]
TAGS = [f"tag-{n}" for n in range(40)] + ["Machine Learning", "Überblick"]
PARAGRAPH = (
    "This paragraph talks about the course in some detail, with a [relative link](../notes/) "
    "and an [absolute one](https://example.org/page), some *emphasis*, some `code`, and enough "
    "words to make the post about the size of a real review on a small personal blog. "
)


def post_text(number: int, rng: random.Random) -> str:
    tags = rng.sample(TAGS, 3)
    sections = []
    for title in ("The Good", "The not so Good", "Overall"):
        sections.append(f"## {title}\n\n" + "\n\n".join([PARAGRAPH * 2] * 3))
        sections.append("- one point\n- another point\n- a third point")
    return (
        "---\nlayout: post\n"
        f"title: Review number {number}\ncategory: {rng.choice(CATEGORIES)}\n"
        f"tags: [{', '.join(tags)}]\n---\n\n"
        f"**TL;DR**: Post {number} is a short verdict on a course, in one sentence.\n\n"
        f"![A chart](images/chart-{number}.png)\n\n" + "\n\n".join(sections) + "\n"
    )


def make_site(root: Path, count: int, limit: int) -> None:
    rng = random.Random(count)
    posts = root / "posts"
    posts.mkdir(parents=True)
    start = 10_000
    for number in range(count):
        day = time.strftime("%Y-%m-%d", time.gmtime((start + number // 3) * 86_400))
        (posts / f"{day}-review-{number}.md").write_text(post_text(number, rng), encoding="utf-8")
    (root / "publisher.toml").write_text(
        f"[site]\ntitle = 'Bench'\nurl = 'https://example.com'\n[feeds]\nlimit = {limit}\n"
    )


def make_jekyll_site(source: Path, root: Path) -> None:
    """The same posts as a Jekyll site (in _posts/, with _config.yml), which publisher reads
    as Jekyll does: the tree walked for _posts/ folders, kramdown's dialect, smart titles."""
    shutil.copytree(source / "posts", root / "_posts")
    (root / "_config.yml").write_text(
        "title: Bench\nurl: https://example.com\nfeed: {posts_limit: 20}\n"
    )


# The shared corpus that the issues' figures use: review-sized posts, written by a script
# beside the project (not in it), for publisher as a Jekyll site and for Hugo.
MAKE_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "make-corpus"


def make_corpus(work: Path, count: int) -> tuple[Path, Path]:
    """The shared corpus as a Jekyll site with only its site feed, every entry in it, and
    as a Hugo site; returns both folders."""
    jekyll, hugo = work / f"corpus-{count}", work / f"corpus-hugo-{count}"
    subprocess.run([sys.executable, str(MAKE_CORPUS), str(count), str(jekyll)], check=True)
    subprocess.run([sys.executable, str(MAKE_CORPUS), "--hugo", str(count), str(hugo)], check=True)
    (jekyll / "publisher.toml").write_text(
        "[site]\ntitle = 'Gadgets'\nurl = 'https://blog.example.org'\n"
        "[feeds]\nlimit = 0\ncategories = ''\ntags = ''\n"
    )
    return jekyll, hugo


def make_hugo_site(source: Path, root: Path) -> None:
    """The same posts as a Hugo site that renders only its RSS feeds."""
    content = root / "content" / "posts"
    content.mkdir(parents=True)
    for path in (source / "posts").iterdir():
        text = path.read_text(encoding="utf-8")
        date = path.name[:10]
        text = text.replace("---\nlayout: post\n", f"---\ndate: {date}\n", 1)
        text = text.replace("category: ", "categories: ", 1)
        (content / path.name).write_text(text, encoding="utf-8")
    (root / "hugo.toml").write_text(
        "baseURL = 'https://example.com/'\ntitle = 'Bench'\n"
        "disableKinds = ['sitemap', 'robotsTXT', '404']\n"
        "[outputs]\nhome = ['rss']\nsection = ['rss']\ntaxonomy = ['rss']\nterm = ['rss']\n"
        "page = []\n"
    )


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command} failed: {process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def report(label: str, count: int, runs: list[tuple[float, float]]) -> None:
    """The median run, and the range of wall times: on these machines it is wide."""
    times = sorted(run[0] for run in runs)
    seconds = statistics.median(times)
    megabytes = statistics.median(run[1] for run in runs)
    print(
        f"{label:<44} {seconds:8.2f} s ({times[0]:.2f}-{times[-1]:.2f}) "
        f"{count / seconds:8.0f} posts/s {megabytes:6.0f} MB"
    )


def bench(count: int, runs: int, work: Path, command: Path, *, corpus: bool) -> None:
    """Each round times every case once, so a slow spell of this noisy machine falls on all
    of them alike rather than on whichever case happened to run then."""
    publisher = [str(command), "build"]
    cases: dict[str, tuple[list[str], Path, bool]] = {}
    for limit in (20, 0):
        site = work / f"site-{count}-{limit}"
        make_site(site, count, limit)
        which = "default limit" if limit else "all entries"
        cases[f"publisher, {count} posts, {which}"] = (publisher, site, True)
        if limit:
            cases[f"publisher, {count} posts, nothing changed"] = (publisher, site, False)
        # One post edited since the build before (the case above, in the same round): one
        # from the middle of the archive, which no feed shows with the default limit, and
        # the newest, which the site's feed and its tags' and category's show.
        posts = sorted((site / "posts").iterdir())
        for label, edited in (("one edited", posts[count // 2]), ("newest edited", posts[-1])):
            edit = ["sh", "-c", f'echo "Edited." >> "{edited}" && exec "$@"', "edit", *publisher]
            cases[f"publisher, {count} posts, {label}, {which}"] = (edit, site, False)
        if limit:
            # The newest post, its category's and one of its tags': a new file each round.
            added = site / "posts" / "2020-01-01-added-$(date +%s%N).md"
            text = "---\\ntitle: New\\ncategory: Category 1\\ntags: [tag-1]\\n---\\nNew.\\n"
            add = ["sh", "-c", f'printf -- "{text}" > "{added}" && exec "$@"', "add", *publisher]
            cases[f"publisher, {count} posts, one added, {which}"] = (add, site, False)
    if corpus:
        corpus_site, corpus_hugo = make_corpus(work, count)
        which = "corpus, every entry"
        cases[f"publisher, {count} posts, {which}"] = (publisher, corpus_site, True)
        edited = sorted((corpus_site / "_posts").iterdir())[count // 2]
        edit = ["sh", "-c", f'echo "Edited." >> "{edited}" && exec "$@"', "edit", *publisher]
        cases[f"publisher, {count} posts, {which}, one edited"] = (edit, corpus_site, False)
        added = corpus_site / "_posts" / "2030-01-01-added-$(date +%s%N).md"
        add = ["sh", "-c", f'printf -- "---\\ntitle: New\\n---\\nNew.\\n" > "{added}" && exec "$@"']
        cases[f"publisher, {count} posts, {which}, one added"] = (
            [*add, "add", *publisher],
            corpus_site,
            False,
        )
        if shutil.which("hugo"):
            hugo_full = [shutil.which("hugo"), "--quiet", "--noBuildLock", "-t", "fullrss"]
            hugo_full += ["--config", "hugo.toml,rss-only.toml"]
            cases[f"hugo, {count} posts, {which}"] = (hugo_full, corpus_hugo, True)
    # Floors for the builds with little to do: what any Python tool pays to learn that nothing
    # changed (start, and a stat of every post), and to render one post's entry (the libraries
    # imported). Timed with publisher's own interpreter, on the posts of the default build.
    python = str(command.parent / "python")
    folder = str(work / f"site-{count}-20" / "posts")
    stat_all = f"import os; d = {folder!r}; [os.stat(os.path.join(d, n)) for n in os.listdir(d)]"
    cases[f"floor, {count} posts, start and stat"] = ([python, "-c", stat_all], work, False)
    libraries = "import yaml, cmarkgfm, orjson, lxml.etree, feedgen.feed, feedgen.entry"
    imports = [python, "-c", f"{stat_all}; {libraries}"]
    cases[f"floor, {count} posts, start, stat and imports"] = (imports, work, False)
    jekyll_site = work / f"jekyll-{count}"
    make_jekyll_site(work / f"site-{count}-20", jekyll_site)
    cases[f"publisher, {count} posts, Jekyll site"] = (publisher, jekyll_site, True)
    hugo = shutil.which("hugo")
    if hugo:
        hugo_site = work / f"hugo-{count}"
        make_hugo_site(work / f"site-{count}-20", hugo_site)
        cases[f"hugo, {count} posts, RSS only"] = (
            [hugo, "--quiet", "--noBuildLock"],
            hugo_site,
            True,
        )
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    for _ in range(runs):
        for label, (command, cwd, cold) in cases.items():
            if cold:
                for output in ("_site", ".publisher", "public"):
                    shutil.rmtree(cwd / output, ignore_errors=True)
            os.sync()  # the generated posts and the cleaning are not the build's to flush
            results[label].append(measure(command, cwd))
    for label, measured in results.items():
        report(label, count, measured)
    full = f"publisher, {count} posts, default limit"
    compare(f"publisher, {count} posts, nothing changed", "the default build's", results, full)
    for floor in ("start and stat", "start, stat and imports"):
        compare(f"floor, {count} posts, {floor}", "the default build's", results, full)
    compare(f"publisher, {count} posts, Jekyll site", "the default build's", results, full)
    every = f"publisher, {count} posts, all entries"
    for label in ("one edited", "newest edited", "one added"):
        compare(
            f"publisher, {count} posts, {label}, default limit",
            "the default build's",
            results,
            full,
        )
    for label in ("one edited", "newest edited"):
        compare(
            f"publisher, {count} posts, {label}, all entries", "the cold build's", results, every
        )
    if not hugo:
        print("hugo: not installed (apt-get install hugo) - no side-by-side figure")
        return
    for label, (_, _, cold) in cases.items():
        if label.startswith("publisher") and cold and "corpus" not in label:
            compare(label, "Hugo's", results, f"hugo, {count} posts, RSS only")
    if corpus:
        which = f"{count} posts, corpus, every entry"
        compare(f"publisher, {which}", "Hugo's", results, f"hugo, {which}")
        for change in ("one edited", "one added"):
            compare(
                f"publisher, {which}, {change}", "the cold build's", results, f"publisher, {which}"
            )


def compare(label: str, whose: str, results: dict, other: str) -> None:
    """`label`'s time as a share of `other`'s in the same rounds: the median and the range."""
    pairs = zip(results[label], results[other], strict=True)
    ratios = sorted(mine[0] / theirs[0] for mine, theirs in pairs)
    print(
        f"{label}: {statistics.median(ratios):.3f}x {whose} time in the same round "
        f"({ratios[0]:.3f}-{ratios[-1]:.3f})"
    )


def install_publisher(work: Path) -> Path:
    """publisher as `pip install` leaves it for a user, in a venv of its own; returns its
    command. The project's editable install runs an import hook at every start (15 to 20 ms
    of a build with nothing to do, here), and where PYTHONDONTWRITEBYTECODE is set (as on
    these machines) it would compile publisher's modules at every run. So the package is
    copied into a new venv and byte-compiled, as pip installs a wheel, with the console
    script pip writes; its dependencies are this venv's, on the path by a .pth line."""
    venv = work / "installed"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    found = subprocess.run([python, "-c", where], check=True, capture_output=True, text=True)
    site_packages = Path(found.stdout.strip())
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    package = Path(__file__).resolve().parent.parent / "publisher"
    copied = site_packages / "publisher"
    shutil.copytree(package, copied, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([python, "-m", "compileall", "-q", str(copied)], check=True)
    command = venv / "bin" / "publisher"
    command.write_text(
        f"#!{python}\nimport sys\nfrom publisher.shortcut import main\nsys.exit(main())\n"
    )
    command.chmod(0o755)
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--corpus", action="store_true", help="also the shared corpus (../shared/bench/make-corpus)"
    )
    args = parser.parse_args()
    if args.corpus and not MAKE_CORPUS.exists():
        raise SystemExit(f"--corpus needs {MAKE_CORPUS}")
    with tempfile.TemporaryDirectory(prefix="publisher-bench-") as folder:
        command = install_publisher(Path(folder))
        for count in args.sizes:
            bench(count, args.runs, Path(folder), command, corpus=args.corpus)


if __name__ == "__main__":
    main()
