"""Liquid in posts, rendered before Markdown as Jekyll renders it: Jekyll's tags (include,
post_url, link, highlight, ...), its filters and its `site` and `page` variables.

A post is input, so rendering is bounded (loops, output, nesting). A post without `{{` or
`{%` never gets here, and python-liquid is not even imported. Blocks of HTML that Markdown
must not touch (highlighted code) come back as Markdown's raw placeholders.
"""

from __future__ import annotations

import csv
import html
import json
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from liquid import Environment
from liquid.ast import BlockNode, Node
from liquid.builtin.expressions import FilteredExpression
from liquid.builtin.expressions._tokenize import tokenize
from liquid.exceptions import LiquidError
from liquid.parser import get_parser
from liquid.stream import TokenStream
from liquid.tag import Tag
from liquid.token import TOKEN_EXPRESSION, TOKEN_TAG, Token

from publisher.site.config import Site
from publisher.site.liquid_filters import jekyll_filters
from publisher.site.markdown import raw_placeholder
from publisher.site.post import Post, jekyll_id
from publisher.site.problems import Problem
from publisher.site.stamps import jekyll_environment

# Limits for one post: Jekyll has none, but a post here is untrusted input.
LOOP_LIMIT = 100_000
OUTPUT_LIMIT = 10_000_000
INCLUDES_DIR = "_includes"
DATA_DIR = "_data"
_INCLUDE_PARAM = re.compile(
    r"""([\w-]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)'|([\w.-]+))"""
)
_INCLUDE_FILE = re.compile(r"^[\w/.\-()+~#@]+$")
_POST_NAME = re.compile(r"^(.+/)*(\d+-\d+-\d+)-(.*)$")
_HIGHLIGHT = re.compile(r"^([a-zA-Z0-9.+#_-]+)((?:\s+\w+(?:=(?:\w+|\"(?:[0-9]+\s)*[0-9]+\"))?)*)$")


class LiquidProblem(Exception):
    """Liquid in a post that cannot be rendered: what is wrong, and on which line of the body."""

    def __init__(self, message: str, line: int | None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


@dataclass
class Rendering:
    """One post's Liquid output, with the HTML blocks kept out of Markdown's way."""

    text: str
    blocks: list[str] = field(default_factory=list)


def render_liquid(
    site: Site, post: Post, data: Mapping[str, Any], body: str, posts: Callable[[], Sequence[Post]]
) -> Rendering:
    """The post's body with its Liquid rendered, as Jekyll renders it before Markdown."""
    env = _environment(site)
    _plugin_tags(env, body)
    facts = _facts(site, posts)
    blocks: list[str] = []
    try:
        template = env.from_string(body, name=post.source)
        text = template.render(
            site=facts.site_variables(),
            page=facts.page(post, data),
            jekyll={"version": "4.3.1", "environment": jekyll_environment()},
            _publisher=_Registers(facts, post, blocks),
        )
    except LiquidError as exc:
        raise _problem(exc, post.source) from exc
    except _FILTER_FAILURES as exc:
        # A filter given what it cannot take (a number to split, a date that is not one).
        raise LiquidProblem(f"Liquid: {exc}", None, "check the filters' arguments") from exc
    return Rendering(text, blocks)


_FILTER_FAILURES = (
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    IndexError,
    ZeroDivisionError,
    OverflowError,
    RecursionError,
)


def check_liquid(site: Site, post: Post, body: str) -> list[Problem]:
    """What reading the post's Liquid finds: errors in its syntax, and (warnings) tags of
    Jekyll plugins that publisher does not have, which render as nothing but their body."""
    env = _environment(site)
    problems = []
    for name, offset in _plugin_tags(env, body).items():
        problems.append(
            Problem(
                "warning",
                post.source,
                f"Liquid: {{% {name} %}} is a Jekyll plugin's tag, which publisher does not "
                "have: it is left out",
                post.body_line + body[:offset].count("\n"),
                "publisher has Jekyll's own tags and gist; write the HTML the tag made instead",
            )
        )
    try:
        env.from_string(body, name=post.source)
    except LiquidError as exc:
        problem = _problem(exc, post.source)
        line = post.body_line + problem.line - 1 if problem.line else None
        problems.append(Problem("error", post.source, problem.message, line, problem.hint))
    return problems


# Words that open a tag without being one: parts of the blocks of Liquid's own tags.
_INNER_WORDS = {"else", "elsif", "when", "endraw", "empty"}
_TAG_NAME = re.compile(r"\{%-?\s*([A-Za-z_]\w*)")
_END_TAG_NAME = re.compile(r"\{%-?\s*end(\w+)")


def _plugin_tags(env: Environment, body: str) -> dict[str, int]:
    """Tags in the body that no one registered (a plugin's), by name, with where each is
    first used; each is registered, as a block rendering its body if `end<name>` follows."""
    unknown: dict[str, int] = {}
    for match in _TAG_NAME.finditer(body):
        name = match.group(1)
        known = name in env.tags and not isinstance(env.tags[name], _PluginTag)
        if known or name in _INNER_WORDS or name.startswith("end") or name == "raw":
            continue
        unknown.setdefault(name, match.start())
    ends = set(_END_TAG_NAME.findall(body)) if unknown else set()
    for name in unknown:
        if name in env.tags:
            continue
        block = name in ends
        env.add_tag(type(f"_Plugin_{name}", (_PluginTag,), {"name": name, "block": block}))
    return unknown


class _PluginTag(Tag):
    """A tag of a plugin publisher does not have: nothing, or its body for a block."""

    def parse(self, stream: TokenStream) -> Node:
        token, _ = _markup(stream)
        if not self.block:
            return _TextNode(token, "", lambda context, markup: "")
        if stream.current.kind == TOKEN_EXPRESSION:
            next(stream)
        block = get_parser(self.env).parse_block(stream, (f"end{self.name}",))
        stream.expect(TOKEN_TAG, value=f"end{self.name}")
        return _BodyNode(token, block)


class _BodyNode(Node):
    def __init__(self, token, block: BlockNode) -> None:
        super().__init__(token)
        self.block = block

    def render_to_output(self, context, buffer) -> int:
        return self.block.render(context, buffer)

    async def render_to_output_async(self, context, buffer) -> int:
        return self.render_to_output(context, buffer)

    def children(self, static_context, *, include_partials: bool = True):
        yield self.block


def _problem(exc: LiquidError, source: str) -> LiquidProblem:
    """The error on its line of the post, or, for one in an included file, naming that file."""
    line = None
    token = getattr(exc, "token", None)
    if token is not None and token.start_index >= 0:
        line = token.source[: token.start_index].count("\n") + 1
    message = str(exc.message if exc.message is not None else exc).strip()
    name = str(exc.template_name or source)
    if name != source:
        message += f" (in {name}{f', line {line}' if line else ''})"
        line = None
    hint = "fix the tag, or wrap text meant literally in {% raw %} ... {% endraw %}"
    return LiquidProblem(f"Liquid: {message}", line, hint)


class _BoundedEnvironment(Environment):
    loop_iteration_limit: ClassVar[int | None] = LOOP_LIMIT
    output_stream_limit: ClassVar[int | None] = OUTPUT_LIMIT


_ENVIRONMENTS: dict[tuple[Path, str], Environment] = {}


def _environment(site: Site) -> Environment:
    key = (site.root, site.fingerprint)
    if key not in _ENVIRONMENTS:
        env = _BoundedEnvironment(strict_filters=False)
        for tag in (_Include, _IncludeRelative, _PostUrl, _Link, _Highlight, _Gist):
            env.add_tag(tag)
        for name, function in jekyll_filters(site, env).items():
            env.add_filter(name, function)
        _ENVIRONMENTS[key] = env
    return _ENVIRONMENTS[key]


# The site, as Liquid sees it.


_LAST_FACTS: list[_Facts] = []


def _facts(site: Site, posts: Callable[[], Sequence[Post]]) -> _Facts:
    """The site's facts, shared by the posts one run renders with the same `posts`: a
    Jekyll site's posts may each ask for site.posts or site.data, thousands of times."""
    if _LAST_FACTS and _LAST_FACTS[0].site is site and _LAST_FACTS[0].source is posts:
        return _LAST_FACTS[0]
    _LAST_FACTS[:] = [_Facts(site, posts)]
    return _LAST_FACTS[0]


class _Facts:
    """What `site` and the Jekyll tags know of the site, each part read only when asked for."""

    def __init__(self, site: Site, posts: Callable[[], Sequence[Post]]) -> None:
        self.site = site
        self.source = posts
        self._groups: dict[str, dict[str, list[dict[str, Any]]]] = {}

    @cached_property
    def posts(self) -> list[Post]:
        return sorted(self.source(), key=lambda p: (p.date, p.source), reverse=True)

    @cached_property
    def post_variables(self) -> list[dict[str, Any]]:
        return [self.page(post, {}) for post in self.posts]

    def relative(self, post: Post) -> str:
        """The post's URL as Jekyll's `post.url`: from the site's root, without the baseurl."""
        return post.url[len(self.site.url) :] or "/"

    def page(self, post: Post, data: Mapping[str, Any]) -> dict[str, Any]:
        url = self.relative(post)
        variables = dict(data)
        variables.update(
            url=url,
            id=jekyll_id(url, post.slug),
            date=post.date,
            title=post.title,
            slug=post.slug,
            categories=list(post.categories),
            tags=list(post.tags),
            path=post.source,
            relative_path=post.source,
            collection="posts",
            draft=post.draft,
            excerpt=post.summary or "",
        )
        return variables

    def site_variables(self) -> Mapping[str, Any]:
        return _SiteVariables(self)

    def grouped(self, kind: str) -> dict[str, list[dict[str, Any]]]:
        """`site.categories` or `site.tags`: the posts of each name, made once a run."""
        if kind not in self._groups:
            groups: dict[str, list[dict[str, Any]]] = {}
            for post, variables in zip(self.posts, self.post_variables, strict=True):
                for name in getattr(post, kind):
                    groups.setdefault(name, []).append(variables)
            self._groups[kind] = groups
        return self._groups[kind]

    @cached_property
    def data(self) -> dict[str, Any]:
        return _site_data(self.site.root / DATA_DIR)


class _SiteVariables(Mapping):
    """`site`: every key of _config.yml, and what Jekyll computes, computed when read."""

    def __init__(self, facts: _Facts) -> None:
        self._facts = facts
        config = facts.site.jekyll.config if facts.site.jekyll else {}
        self._config = {
            **config,
            "url": facts.site.origin,
            "baseurl": facts.site.base_path,
            "title": facts.site.title,
            "description": facts.site.description,
        }

    def _computed(self, key: str) -> Any:
        facts = self._facts
        if key == "posts":
            return facts.post_variables
        if key in ("categories", "tags"):
            return facts.grouped(key)
        if key == "data":
            return facts.data
        if key == "time":
            # Jekyll's is the build's time; the newest post's keeps the output the same
            # from run to run.
            return facts.posts[0].date if facts.posts else datetime(1970, 1, 1)
        raise KeyError(key)

    def __getitem__(self, key: str) -> Any:
        if key in _COMPUTED:
            return self._computed(key)
        return self._config[key]

    def __iter__(self):
        yield from (key for key in self._config if key not in _COMPUTED)
        yield from _COMPUTED

    def __len__(self) -> int:
        return sum(1 for _ in self)


# What `site` computes rather than reads from _config.yml.
_COMPUTED = ("posts", "categories", "tags", "data", "time")


_DATA: dict[Path, tuple[tuple, dict[str, Any]]] = {}


def _site_data(folder: Path) -> dict[str, Any]:
    """site.data, read again only when a file of _data/ changed: a site's data files can be
    large, and every post may ask for them."""
    files = sorted(path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []
    stamp = tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    if folder not in _DATA or _DATA[folder][0] != stamp:
        _DATA[folder] = (stamp, _read_data(folder))
    return _DATA[folder][1]


def _read_data(folder: Path) -> dict[str, Any]:
    """Jekyll's site.data: each YAML, JSON, CSV or TSV file under _data/, by name."""
    import yaml

    data: dict[str, Any] = {}
    if not folder.is_dir():
        return data
    for path in sorted(folder.iterdir()):
        name = path.stem
        try:
            if path.is_dir():
                data[name] = _read_data(path)
            elif path.suffix in (".yml", ".yaml"):
                data[name] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            elif path.suffix == ".json":
                data[name] = json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix in (".csv", ".tsv"):
                with path.open(encoding="utf-8", newline="") as file:
                    delimiter = "\t" if path.suffix == ".tsv" else ","
                    data[name] = list(csv.DictReader(file, delimiter=delimiter))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise LiquidProblem(
                f"site.data: {DATA_DIR}/{path.name} cannot be read ({exc})", None
            ) from exc
    return data


# Jekyll's tags.


@dataclass
class _Registers:
    """What Jekyll's tags need of a render (Jekyll's context registers), out of the
    template's reach: not a mapping, so Liquid finds nothing in it, and it prints as nothing."""

    facts: _Facts
    post: Post
    blocks: list[str]

    def __str__(self) -> str:
        return ""


def _registers(context) -> _Registers:
    return context.resolve("_publisher")


def _markup(stream: TokenStream) -> tuple[Any, str]:
    """A tag's token and the text between its name and `%}`, as Jekyll's tags read it. The
    stream is left on the tag's last token, as the parser expects."""
    token = stream.eat(TOKEN_TAG)
    if stream.current.kind != TOKEN_EXPRESSION:
        return token, ""
    return token, stream.current.value.strip()


def _evaluate(env: Environment, text: str, context) -> Any:
    """A Liquid expression (a variable and filters) evaluated where the tag stands."""
    token = Token(TOKEN_EXPRESSION, text, 0, text)
    stream = TokenStream(tokenize(text, parent_token=token))
    return FilteredExpression.parse(env, stream).evaluate(context)


def _expand(env: Environment, text: str, context) -> str:
    """Markup that holds `{{ ... }}`, rendered (Jekyll allows it in include and link)."""
    if "{{" not in text:
        return text
    buffer = _Buffer()
    env.from_string(text).render_with_context(context, buffer, partial=True)
    return buffer.getvalue()


class _TextNode(Node):
    """A tag whose output is computed from its markup at render time."""

    def __init__(self, token, markup: str, render: Callable[[Any, str], str]) -> None:
        super().__init__(token)
        self.markup = markup
        self._render = render

    def render_to_output(self, context, buffer) -> int:
        try:
            buffer.write(self._render(context, self.markup))
        except LiquidProblem as exc:
            if exc.line is None:
                exc.line = self.token.source[: self.token.start_index].count("\n") + 1
            raise
        return True

    async def render_to_output_async(self, context, buffer) -> int:
        return self.render_to_output(context, buffer)


class _SimpleTag(Tag):
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, markup = _markup(stream)
        self.check(markup, token)
        return _TextNode(token, markup, self.output)

    def check(self, markup: str, token) -> None:
        """Refuse markup Jekyll refuses, when the template is read."""

    def output(self, context, markup: str) -> str:
        raise NotImplementedError


class _Include(_SimpleTag):
    """`{% include file.html key="value" key2=variable %}`, from _includes/."""

    name = "include"
    folder = INCLUDES_DIR

    def output(self, context, markup: str) -> str:
        markup = _expand(self.env, markup, context)
        file, _, params = markup.partition(" ")
        path = self.locate(context, file.strip())
        source = _read_include(path, file)
        values = {}
        for key, double, single, variable in _INCLUDE_PARAM.findall(params):
            if variable:
                values[key] = _evaluate(self.env, variable, context)
            else:
                values[key] = (double or single).replace('\\"', '"').replace("\\'", "'")
        template = self.env.from_string(source, name=file)
        buffer = _Buffer()
        with context.extend({"include": values}, template=template):
            template.render_with_context(context, buffer, partial=True)
        return buffer.getvalue()

    def locate(self, context, file: str) -> Path:
        site = _registers(context).facts.site
        return _inside(site.root / self.folder, file, self.name)


class _IncludeRelative(_Include):
    """`{% include_relative file %}`, from the post's own folder."""

    name = "include_relative"

    def locate(self, context, file: str) -> Path:
        registers = _registers(context)
        folder = posixpath.dirname(registers.post.source)
        return _inside(registers.facts.site.root / folder, file, self.name)


def _inside(folder: Path, file: str, tag: str) -> Path:
    """The file in `folder`, named as Jekyll allows (no `..`, no absolute path), and not a
    link that leads out of it: a post must not include the machine's files."""
    valid = _INCLUDE_FILE.match(file) and not re.search(r"[./]{2,}", file)
    path = folder / file
    if not valid or file.startswith("/") or not path.resolve().is_relative_to(folder.resolve()):
        raise LiquidProblem(
            f"{tag} {file!r} is not a file name Jekyll accepts, inside {folder.name}/",
            None,
            f"name a file in {folder.name}/ with letters, digits and ./-_ only",
        )
    return path


class _Buffer:
    """Collects what a partial template writes (render_with_context writes to a buffer)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def _read_include(path: Path, file: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else "cannot be read"
        raise LiquidProblem(
            f"included file {file!r} {reason}", None, f"add {path.name} to {path.parent.name}/"
        ) from exc


class _PostUrl(_SimpleTag):
    """`{% post_url 2010-07-21-name %}`: the URL of the post of that file name."""

    name = "post_url"

    def check(self, markup: str, token) -> None:
        if not _POST_NAME.match(markup.lstrip("/")):
            raise LiquidError(f"post_url {markup!r} has no date and title", token=token)

    def output(self, context, markup: str) -> str:
        facts = _registers(context).facts
        folders, day, slug = _POST_NAME.match(markup.lstrip("/")).groups()
        folders = folders or ""
        name = re.compile(
            rf"^(?:_posts/{re.escape(folders)}|{re.escape(folders)}_posts/?)"
            rf"{re.escape(day)}-{re.escape(slug)}\.[^.]+$"
        )
        for post in facts.posts:
            if name.match(post.source):
                return facts.site.base_path + facts.relative(post)
        raise LiquidProblem(
            f"post_url: no post {markup!r}", None, "give the post's file name without extension"
        )


class _Link(_SimpleTag):
    """`{% link path/to/file.md %}`: the URL of a post, page or file of the site."""

    name = "link"

    def output(self, context, markup: str) -> str:
        facts = _registers(context).facts
        path = _expand(self.env, markup, context).strip().lstrip("/")
        for post in facts.posts:
            if post.source == path:
                return facts.site.base_path + facts.relative(post)
        file = facts.site.root / path
        if not file.is_file() or not file.resolve().is_relative_to(facts.site.root.resolve()):
            raise LiquidProblem(f"link: no file {path!r} in the site", None, "fix the path")
        return facts.site.base_path + _page_url(facts.site, path, file)


def _page_url(site: Site, path: str, file: Path) -> str:
    """Where Jekyll writes a page or a collection's document: its permalink (the document's,
    else its collection's), else its path, with .html for Markdown."""
    head = file.read_bytes()[:4096].decode("utf-8", "replace")
    if not head.startswith("---"):
        return "/" + path
    folder, name = posixpath.split(path)
    stem, ext = posixpath.splitext(name)
    markdown = site.jekyll.markdown_ext if site.jekyll else ("md", "markdown")
    output_ext = ".html" if ext.lstrip(".") in (*markdown, "html") else ext
    output_ext = ".css" if ext in (".scss", ".sass") else output_ext
    label, _, inside = path.partition("/")
    collection = _collection(site, label)
    values = {"basename": stem, "name": stem, "title": stem, "output_ext": output_ext}
    if collection is not None:
        values.update(collection=label[1:], path=posixpath.splitext(inside)[0])
    match = re.search(r"^permalink:\s*['\"]?([^'\"\n]+)", head, re.MULTILINE)
    template = match.group(1).strip() if match else (collection or {}).get("permalink")
    if template or collection is not None:
        template = str(template or "/:collection/:path:output_ext")
        url = re.sub(r":([a-z_]+)", lambda m: values.get(m.group(1), m.group(0)), template)
        return "/" + url.lstrip("/")
    pretty = site.permalink == "pretty" or site.permalink.endswith("/")
    if stem == "index" and output_ext == ".html":
        return posixpath.join("/", folder, "")
    if pretty and output_ext == ".html":
        return posixpath.join("/", folder, stem, "")
    return posixpath.join("/", folder, stem + output_ext)


def _collection(site: Site, folder: str) -> dict[str, Any] | None:
    """The settings of the collection whose folder this is (`_docs` for `docs`), if any."""
    collections = site.jekyll.config.get("collections") if site.jekyll else None
    if not folder.startswith("_") or not collections:
        return None
    if isinstance(collections, list):
        return {} if folder[1:] in map(str, collections) else None
    settings = collections.get(folder[1:], None) if isinstance(collections, dict) else None
    if settings is None and folder[1:] not in (collections or {}):
        return None
    return settings if isinstance(settings, dict) else {}


class _Highlight(Tag):
    """`{% highlight ruby linenos %}...{% endhighlight %}`: code coloured by Pygments, in the
    HTML Jekyll writes (rouge's class names are Pygments')."""

    name = "highlight"
    end = "endhighlight"
    block = True

    def parse(self, stream: TokenStream) -> Node:
        token, markup = _markup(stream)
        match = _HIGHLIGHT.match(markup)
        if not match:
            raise LiquidError(
                f"highlight {markup!r}: write it as highlight <language> [linenos]", token=token
            )
        next(stream)  # past the markup, to the block's first token
        block = get_parser(self.env).parse_block(stream, ("endhighlight",))
        stream.expect(TOKEN_TAG, value="endhighlight")
        return _HighlightNode(token, match.group(1).lower(), "linenos" in match.group(2), block)


class _HighlightNode(Node):
    def __init__(self, token, language: str, linenos: bool, block: BlockNode) -> None:
        super().__init__(token)
        self.language = language
        self.linenos = linenos
        self.block = block

    def render_to_output(self, context, buffer) -> int:
        inner = _Buffer()
        self.block.render(context, inner)
        code = inner.getvalue().strip("\r\n")
        blocks = _registers(context).blocks
        blocks.append(highlight(code, self.language, linenos=self.linenos))
        buffer.write(raw_placeholder(len(blocks) - 1))
        return True

    async def render_to_output_async(self, context, buffer) -> int:
        return self.render_to_output(context, buffer)

    def children(self, static_context, *, include_partials: bool = True):
        yield self.block


def highlight(code: str, language: str, *, linenos: bool = False) -> str:
    """Code as Jekyll's highlight tag writes it: a figure of spans with Pygments' classes."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = TextLexer()
    spans = pygmentize(code, lexer, HtmlFormatter(nowrap=True)).rstrip("\n")
    if linenos:
        numbers = "\n".join(str(n) for n in range(1, spans.count("\n") + 2))
        spans = (
            '<table class="rouge-table"><tbody><tr><td class="gutter gl">'
            f'<pre class="lineno">{numbers}</pre></td><td class="code"><pre>{spans}</pre>'
            "</td></tr></tbody></table>"
        )
    language_class = html.escape(language.replace("+", "-"), quote=True)
    return (
        f'<figure class="highlight"><pre><code class="language-{language_class}" '
        f'data-lang="{html.escape(language, quote=True)}">{spans}</code></pre></figure>'
    )


class _Gist(_SimpleTag):
    """jekyll-gist's `{% gist user/id [file] %}`, which GitHub Pages has."""

    name = "gist"

    def output(self, context, markup: str) -> str:
        parts = _expand(self.env, markup, context).split()
        if not parts or not re.fullmatch(r"[\w.-]+(?:/[\w.-]+)?", parts[0]):
            raise LiquidProblem(f"gist {markup!r}: write it as gist user/id [file]", None)
        file = f"?file={quote(parts[1])}" if len(parts) > 1 else ""
        return f'<script src="https://gist.github.com/{parts[0]}.js{file}"> </script>'
