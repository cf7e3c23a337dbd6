"""Liquid in a Jekyll site's posts is rendered before Markdown, with Jekyll's tags, filters
and variables, as Jekyll renders it."""

from __future__ import annotations

import pytest


def test_post_url_links_to_another_post(jekyll):
    jekyll.post("2010-07-21-first.md", "title: First")
    jekyll.post(
        "2010-07-22-second.md", "title: Second", "See [the first]({% post_url 2010-07-21-first %})."
    )
    assert 'href="https://jekyll.example.com/2010/07/21/first.html"' in jekyll.html("Second")


def test_post_url_finds_a_post_in_a_nested_posts_folder(jekyll):
    jekyll.post("en/_posts/2010-07-21-first.md", "title: First")
    jekyll.post("2010-07-22-second.md", "title: Second", "[x]({% post_url en/2010-07-21-first %})")
    assert 'href="https://jekyll.example.com/en/2010/07/21/first.html"' in jekyll.html("Second")


def test_post_url_to_no_post_is_an_error_with_its_line(jekyll):
    jekyll.post("2010-07-22-second.md", "title: Second", "Intro.\n\n{% post_url 2010-01-01-gone %}")
    result = jekyll.run("build")
    assert result.exit_code == 1
    assert "_posts/2010-07-22-second.md:7: error: post_url: no post '2010-01-01-gone'" in (
        result.output
    )
    assert not jekyll.output("feed.xml").exists()


def test_link_finds_a_page_and_a_file(jekyll):
    jekyll.file("about.md", "---\ntitle: About\n---\nMe.\n")
    jekyll.file("docs/guide.md", "---\npermalink: /the-guide/\n---\nGuide.\n")
    jekyll.file("files/report.pdf", "%PDF")
    jekyll.post(
        "2024-01-01-links.md",
        "title: Links",
        "[a]({% link about.md %}) [g]({% link docs/guide.md %}) [r]({% link files/report.pdf %})",
    )
    content = jekyll.html("Links")
    for url in ("/about.html", "/the-guide/", "/files/report.pdf"):
        assert f'href="https://jekyll.example.com{url}"' in content


def test_include_passes_parameters_from_includes_folder(jekyll):
    jekyll.file(
        "_includes/note.html", '<aside class="note">{{ include.text }}, {{ include.who }}</aside>\n'
    )
    jekyll.post(
        "2024-01-01-note.md",
        "title: Noted\nauthor: Ann",
        '{% include note.html text="Mind the gap" who=page.author %}',
    )
    assert '<aside class="note">Mind the gap, Ann</aside>' in jekyll.html("Noted")


def test_include_of_a_missing_file_is_an_error_that_check_finds(jekyll):
    jekyll.post("2024-01-01-note.md", "title: Noted", "{% include nowhere.html %}")
    for command in ("check", "build"):
        result = jekyll.run(command)
        assert result.exit_code == 1
        assert "included file 'nowhere.html' not found" in result.output


def test_include_cannot_leave_the_includes_folder(jekyll):
    jekyll.file("secret.txt", "password")
    jekyll.post("2024-01-01-note.md", "title: Noted", "{% include ../secret.txt %}")
    result = jekyll.run("build")
    assert result.exit_code == 1
    assert "is not a file name Jekyll accepts" in result.output


def test_include_relative_reads_beside_the_post(jekyll):
    jekyll.file("_posts/snippet.txt", "from beside")
    jekyll.post("2024-01-01-rel.md", "title: Rel", "Text {% include_relative snippet.txt %}.")
    assert jekyll.html("Rel") == "<p>Text from beside.</p>"


def test_highlight_keeps_code_out_of_markdown(jekyll):
    code = "# a Ruby comment, not a heading\n\nputs 'hi'"
    jekyll.post(
        "2024-01-01-code.md", "title: Code", f"{{% highlight ruby %}}\n{code}\n{{% endhighlight %}}"
    )
    content = jekyll.raw_html("Code")
    assert "<h1" not in content
    assert '<figure class="highlight"><pre><code class="language-ruby" data-lang="ruby">' in content
    assert '<span class="c1"># a Ruby comment, not a heading</span>' in content


def test_highlight_with_line_numbers(jekyll):
    jekyll.post(
        "2024-01-01-code.md",
        "title: Code",
        "{% highlight python linenos %}\na = 1\nb = 2\n{% endhighlight %}",
    )
    assert '<pre class="lineno">1\n2</pre>' in jekyll.html("Code")


def test_raw_keeps_liquid_as_text(jekyll):
    jekyll.post("2024-01-01-raw.md", "title: Raw", "`{% raw %}{{ site.title }}{% endraw %}`")
    assert jekyll.html("Raw") == "<p><code>{{ site.title }}</code></p>"


def test_site_variables_and_loops(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        baseurl: /blog
        team: [Ann, Bob]
        """
    )
    jekyll.file("_data/links.yml", "- {name: Home, url: /}\n")
    jekyll.post("2024-01-01-old.md", "title: Old\ntags: [x]")
    jekyll.post(
        "2024-01-02-vars.md",
        "title: Vars",
        "{{ site.title }} by {{ site.team | join: ' & ' }}; {{ site.data.links[0].name }}; "
        "{% for post in site.posts %}[{{ post.title }}]({{ post.url | relative_url }}) {% endfor %}"
        "{{ site.tags.x.size }}",
    )
    content = jekyll.html("Vars")
    assert "Jekyll Blog by Ann &amp; Bob; Home;" in content
    assert 'href="https://jekyll.example.com/blog/2024/01/01/old.html"' in content
    assert content.endswith(" 1</p>")


def test_page_variables(jekyll):
    jekyll.post(
        "2024-02-03-page.md",
        "title: Page\ncategories: [a]\nextra: value",
        "{{ page.title }} {{ page.url }} {{ page.id }} {{ page.extra }} "
        "{{ page.date | date_to_xmlschema }} {{ page.categories | jsonify }}",
    )
    # The quotes are smart, as kramdown makes them in text.
    assert jekyll.html("Page") == (
        "<p>Page /a/2024/02/03/page.html /a/2024/02/03/page value "
        "2024-02-03T00:00:00+00:00 [“a”]</p>"
    )


@pytest.mark.parametrize(
    ("expression", "output"),
    [
        ("'/about/' | absolute_url", "https://jekyll.example.com/about/"),
        ("'a & b' | xml_escape", "a &amp; b"),
        ("'a b&c' | cgi_escape", "a+b%26c"),
        ("'a b' | uri_escape", "a%20b"),
        ("'Hello World!' | slugify", "hello-world"),
        ("'one two  three' | number_of_words", "3"),
        ("page.list | array_to_sentence_string", "x, y, and z"),
        ("page.list | jsonify", '["x","y","z"]'),
        ("'*hi*' | markdownify | strip", "<p><em>hi</em></p>"),
        ("page.date | date_to_string", "03 Feb 2024"),
        ("page.date | date_to_long_string: 'ordinal', 'US'", "February 3rd, 2024"),
        ("page.people | where: 'role', 'dev' | map: 'name' | join", "Ann"),
        ("page.people | where_exp: 'p', 'p.role != \"dev\"' | map: 'name' | join", "Bob"),
        ("page.people | group_by: 'role' | map: 'name' | join: ','", "dev,ops"),
        ("page.people | sort: 'name' | last | map: 'name'", "Bob"),
        ("'  a   b ' | normalize_whitespace", "a b"),
    ],
)
def test_jekyll_filters(jekyll, expression, output):
    jekyll.post(
        "2024-02-03-f.md",
        "title: F\nlist: [x, y, z]\npeople: [{name: Ann, role: dev}, {name: Bob, role: ops}]",
        f"<div>{{{{ {expression} }}}}</div>",
    )
    assert jekyll.html("F") == f"<div>{output}</div>"


def test_render_with_liquid_false_keeps_the_text(jekyll):
    jekyll.post(
        "2024-01-01-doc.md", "title: Doc\nrender_with_liquid: false", "Write {{ page.title }}."
    )
    assert jekyll.html("Doc") == "<p>Write {{ page.title }}.</p>"


def test_a_liquid_syntax_error_names_the_file_and_line_and_writes_nothing(jekyll):
    jekyll.post("2024-01-01-good.md", "title: Good")
    jekyll.post("2024-01-02-bad.md", "title: Bad", "Line one.\n\n{% if %}")
    result = jekyll.run("check")
    assert result.exit_code == 1
    assert "_posts/2024-01-02-bad.md:7: error: Liquid:" in result.output
    assert "Traceback" not in result.output


def test_a_plugin_tag_is_left_out_with_a_warning(jekyll):
    jekyll.post(
        "2024-01-01-p.md",
        "title: P",
        "Before {% youtube abc %} after.\n\n{% tabs x %}in{% endtabs %}",
    )
    result = jekyll.build()
    assert "{% youtube %} is a Jekyll plugin's tag" in result.output
    assert jekyll.html("P") == "<p>Before  after.</p>\n<p>in</p>"


def test_gist_becomes_its_script(jekyll):
    jekyll.post("2024-01-01-g.md", "title: G", "{% gist parkr/931c1c8d465a04042403 %}")
    content = jekyll.raw_html("G")
    assert '<script src="https://gist.github.com/parkr/931c1c8d465a04042403.js">' in content


def test_a_loop_without_end_is_stopped(jekyll):
    jekyll.post("2024-01-01-loop.md", "title: Loop", "{% for i in (1..100000000) %}x{% endfor %}")
    result = jekyll.run("build")
    assert result.exit_code == 1
    assert "Liquid:" in result.output and "limit" in result.output


def test_liquid_in_the_excerpt_is_rendered(jekyll):
    jekyll.post("2024-01-01-ex.md", "title: Ex", "Welcome to {{ site.title }}.\n\nMore.")
    assert jekyll.entry("Ex").summary == "<p>Welcome to Jekyll Blog.</p>"


def test_a_publisher_site_keeps_braces_as_text(site):
    site.post(
        "2024-01-01-jinja.md", "title: Jinja\ndate: 2024-01-01", "Use {{ name }} in templates."
    )
    site.build()
    assert "{{ name }}" in site.feed().entries[0].content[0].value


@pytest.mark.parametrize("name", ["/etc/hostname", "link.html"])
def test_include_cannot_reach_files_outside_the_site(jekyll, name):
    (jekyll.root / "_includes").mkdir()
    (jekyll.root / "_includes" / "link.html").symlink_to("/etc/hostname")
    jekyll.post("2024-01-01-note.md", "title: Noted", f"{{% include {name} %}}")
    result = jekyll.run("build")
    assert result.exit_code == 1
    assert "is not a file name Jekyll accepts" in result.output


def test_an_include_that_includes_itself_is_stopped(jekyll):
    jekyll.file("_includes/loop.html", "again {% include loop.html %}")
    jekyll.post("2024-01-01-loop.md", "title: Loop", "{% include loop.html %}")
    result = jekyll.run("build")
    assert result.exit_code == 1
    assert "_posts/2024-01-01-loop.md" in result.output and "Liquid:" in result.output
    assert "Traceback" not in result.output


def test_output_beyond_the_limit_is_stopped(jekyll):
    body = "{% for i in (1..9000) %}{% for j in (1..10) %}" + "x" * 200 + "{% endfor %}{% endfor %}"
    jekyll.post("2024-01-01-big.md", "title: Big", body)
    result = jekyll.run("build")
    assert result.exit_code == 1
    assert "limit" in result.output


def test_a_changed_include_or_data_file_is_built_again(jekyll):
    jekyll.file("_includes/sign.html", "Ann")
    jekyll.file("_data/site.yml", "motto: Old\n")
    jekyll.post(
        "2024-01-01-s.md", "title: S", "{% include sign.html %}, {{ site.data.site.motto }}"
    )
    assert jekyll.html("S") == "<p>Ann, Old</p>"
    jekyll.file("_includes/sign.html", "Bob")
    assert jekyll.html("S") == "<p>Bob, Old</p>"
    jekyll.file("_data/site.yml", "motto: New motto\n")
    assert jekyll.html("S") == "<p>Bob, New motto</p>"


def test_a_post_cannot_print_publishers_internals(jekyll):
    jekyll.post(
        "2024-01-01-peek.md", "title: Peek", "[{{ _publisher }}{{ _publisher.facts.site }}]"
    )
    assert jekyll.html("Peek") == "<p>[]</p>"


def test_link_finds_a_collections_document_at_its_permalink(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        collections:
          docs: {output: true, permalink: "/:collection/:path/"}
          recipes: {output: true}
        """
    )
    jekyll.file("_docs/sub/page.md", "---\ntitle: Page\n---\nx\n")
    jekyll.file("_recipes/soup.md", "---\ntitle: Soup\n---\nx\n")
    jekyll.file("_recipes/stew.md", "---\ntitle: Stew\npermalink: /food/:name/\n---\nx\n")
    jekyll.post(
        "2024-01-01-l.md",
        "title: L",
        "[a]({% link _docs/sub/page.md %}) [b]({% link _recipes/soup.md %}) "
        "[c]({% link _recipes/stew.md %})",
    )
    content = jekyll.html("L")
    for url in ("/docs/sub/page/", "/recipes/soup.html", "/food/stew/"):
        assert f'href="https://jekyll.example.com{url}"' in content
