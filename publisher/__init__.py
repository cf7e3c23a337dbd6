"""Turn a folder of Markdown blog posts into feeds and email newsletters."""

__version__ = "0.1.0"
