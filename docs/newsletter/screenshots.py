"""The screenshots in docs/newsletter/: the bundled post and a digest, at 375 and 600 px, light
and dark, as headless Chromium shows the messages `publisher newsletter` writes.

    .venv/bin/python docs/newsletter/screenshots.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers import SEED_NAME, SiteDir, png  # noqa: E402

POSTS = {
    "2018-03-01-notes-on-convolutions.md": (
        "title: Notes on convolutions\ntags: [Review]",
        "![A diagram of a convolution](img/diagram.png)\n\nWhat a convolution does to an "
        "image, drawn out step by step, and why the kernel's size matters less than you "
        "think.\n\nMore follows.\n",
    ),
    "2018-03-08-a-reading-list.md": (
        "title: A reading list for the summer",
        "Six books on machine learning that reward a slow read, from the classic to the "
        "new.\n\nMore follows.\n",
    ),
}


def previews(work: Path) -> dict[str, Path]:
    site = SiteDir(work / "site")
    (site.root / "posts").mkdir(parents=True)
    shutil.copy(ROOT / "publisher.toml", site.root)
    shutil.copy(ROOT / "posts" / SEED_NAME, site.root / "posts")
    for name, (front, body) in POSTS.items():
        site.post(name, front, body)
    runs = {"post": [f"posts/{SEED_NAME}"], "digest": ["--digest", "--last", "3"]}
    folders = {}
    for kind, args in runs.items():
        folder = work / kind
        result = site.run("newsletter", *args, "--out", str(folder), "--now", "2018-03-09")
        if result.exit_code != 0:
            raise SystemExit(result.output)
        folders[kind] = folder
    return folders


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"]
        )
        for kind, preview in previews(Path(folder)).items():
            for width in (375, 600):
                for scheme in ("light", "dark"):
                    page = browser.new_page(
                        viewport={"width": width, "height": 800}, color_scheme=scheme
                    )
                    page.route(
                        "**/*.png",
                        lambda route: route.fulfill(body=png(1200, 630), content_type="image/png"),
                    )
                    page.goto((preview / "message.html").as_uri())
                    out = HERE / f"{kind}-{width}-{scheme}.png"
                    page.screenshot(path=str(out), full_page=True)
                    page.close()
                    print(out.relative_to(ROOT))
        browser.close()


if __name__ == "__main__":
    main()
