"""A Jekyll site's posts are found, dated, named and linked as Jekyll 4 finds them."""

from __future__ import annotations


def test_front_matter_defaults_set_the_permalink_of_posts(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        permalink: /:title
        defaults:
          - scope: {path: "", type: posts}
            values: {permalink: "/blog/:year/:month/:day/:title/", author: Pat}
          - scope: {path: ""}
            values: {image: /social.png}
        """
    )
    jekyll.post("2024-03-01-hello.md")
    entry = jekyll.entry("A post")
    assert entry.link == "https://jekyll.example.com/blog/2024/03/01/hello/"
    assert entry.author_detail.name == "Pat"
    assert entry.media_thumbnail[0]["url"] == "https://jekyll.example.com/social.png"


def test_the_narrowest_default_scope_wins(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        defaults:
          - scope: {path: "en/news"}
            values: {author: Newsdesk}
          - scope: {path: ""}
            values: {author: Everyone}
          - scope: {path: "", type: pages}
            values: {author: Pages only}
        """
    )
    jekyll.post("en/news/_posts/2024-03-01-story.md", "title: Story")
    jekyll.post("2024-03-02-other.md", "title: Other")
    assert jekyll.entry("Story").author_detail.name == "Newsdesk"
    assert jekyll.entry("Other").author_detail.name == "Everyone"


def test_front_matter_wins_over_defaults(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        defaults: [{scope: {path: ""}, values: {author: Default}}]
        """
    )
    jekyll.post("2024-03-01-mine.md", "title: Mine\nauthor: Me")
    assert jekyll.entry("Mine").author_detail.name == "Me"


def test_a_glob_scope_chooses_posts_by_path(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        defaults: [{scope: {path: "*/_posts"}, values: {author: Globbed}}]
        """
    )
    jekyll.post("fr/_posts/2024-03-01-bonjour.md", "title: Bonjour")
    jekyll.post("2024-03-02-root.md", "title: Root")
    assert jekyll.entry("Bonjour").author_detail.name == "Globbed"
    assert "author_detail" not in jekyll.entry("Root")


def test_the_posts_collection_permalink_comes_between_defaults_and_the_site(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        permalink: pretty
        collections: {posts: {permalink: "/p/:slug"}}
        """
    )
    jekyll.post("2024-03-01-Hello_World.md")
    assert jekyll.entry("A post").link == "https://jekyll.example.com/p/hello-world"


def test_posts_folders_below_the_root_give_their_categories(jekyll):
    jekyll.post("en/news/_posts/2024-03-01-release.md", "title: Release\ncategories: [ruby]")
    entry = jekyll.entry("Release")
    assert entry.link == "https://jekyll.example.com/en/news/ruby/2024/03/01/release.html"
    assert [tag.term for tag in entry.tags] == ["en", "news", "ruby"]


def test_drafts_beside_a_nested_posts_folder_are_drafts(jekyll):
    jekyll.post("en/_drafts/soon.md", "title: Soon\ndate: 2024-01-01")
    jekyll.post("2024-03-01-out.md", "title: Out")
    jekyll.build()
    assert [e.title for e in jekyll.feed().entries] == ["Out"]
    jekyll.build("--drafts")
    assert {e.title for e in jekyll.feed().entries} == {"Out", "Soon"}


def test_excluded_and_underscored_folders_hold_no_posts(jekyll):
    jekyll.config(
        """
        title: Jekyll Blog
        url: https://jekyll.example.com
        exclude: [vendor/, old]
        """
    )
    for folder in ("vendor/gem", "old", "_archive", "node_modules/x"):
        jekyll.post(f"{folder}/_posts/2024-03-01-hidden.md", "title: Hidden")
    jekyll.post("2024-03-02-seen.md", "title: Seen")
    jekyll.build()
    assert [e.title for e in jekyll.feed().entries] == ["Seen"]


def test_every_markdown_extension_jekyll_knows_is_markdown(jekyll):
    for number, extension in enumerate(("mkdn", "mkd", "mkdown", "markdown", "md"), start=1):
        jekyll.post(f"2024-03-0{number}-post-{extension}.{extension}", f"title: {extension}")
    jekyll.post("2024-03-09-page.html", "title: html", "<p>Raw <b>HTML</b></p>")
    jekyll.build()
    feed = jekyll.feed()
    assert {e.title for e in feed.entries} == {"mkdn", "mkd", "mkdown", "markdown", "md", "html"}
    assert jekyll.html("mkdn") == "<p>Hello.</p>"
    assert jekyll.html("html") == "<p>Raw <b>HTML</b></p>"


def test_a_post_of_another_kind_keeps_its_extension_and_its_text(jekyll):
    jekyll.file("_posts/2011-04-12-notes.text", "Plain *text*\n")
    entry = jekyll.entry("Notes")
    assert entry.link == "https://jekyll.example.com/2011/04/12/notes.text"
    assert entry.content[0].value == "Plain *text*"


def test_files_in_posts_that_are_not_posts_are_skipped_with_a_warning(jekyll):
    jekyll.file("_posts/README.md", "Notes for writers\n")
    jekyll.file("_posts/2024-03-01-data.yml", "title: data\n")
    jekyll.post("2024-03-02-real.md", "title: Real")
    result = jekyll.build()
    assert "_posts/README.md: warning: is not a post" in result.output
    assert [e.title for e in jekyll.feed().entries] == ["Real"]


def test_a_post_without_front_matter_is_published(jekyll):
    jekyll.file("_posts/2024-03-01-bare-post.md", "Just text.\n")
    entry = jekyll.entry("Bare Post")
    assert entry.published == "2024-03-01T00:00:00+00:00"
    assert entry.content[0].value == "<p>Just text.</p>"


def test_front_matter_may_end_with_three_dots(jekyll):
    jekyll.file("_posts/2024-03-01-dots.md", "---\ntitle: Dotted\n...\nBody.\n")
    assert jekyll.html("Dotted") == "<p>Body.</p>"


def test_a_one_digit_month_in_the_file_name_is_read_with_a_warning(jekyll):
    jekyll.post("2017-2-5-short.md", "title: Short")
    result = jekyll.build()
    assert "one-digit month or day" in result.output
    assert jekyll.entry("Short").link == "https://jekyll.example.com/2017/02/05/short.html"


def test_a_one_digit_hour_is_a_time(jekyll):
    jekyll.post("2013-11-22-early.md", "title: Early\ndate: 2013-11-22 5:00:00 +0000")
    assert jekyll.entry("Early").published == "2013-11-22T05:00:00+00:00"


def test_a_stray_year_drops_the_zone_as_ruby_does(jekyll):
    jekyll.post("2023-01-29-twice.md", "title: Twice\ndate: 2023-01-29 18:30:22 2023 -0800")
    result = jekyll.build()
    assert "names its year twice" in result.output
    assert jekyll.entry("Twice").published == "2023-01-29T18:30:22+00:00"


def test_a_day_first_date_is_read_as_ruby_reads_it(jekyll):
    jekyll.post("2017-09-11-scalafix.md", "title: Scalafix\ndate: 11-9-2017")
    result = jekyll.build()
    assert "is read as 2017-09-11" in result.output
    assert jekyll.entry("Scalafix").published == "2017-09-11T00:00:00+00:00"


def test_a_post_without_a_title_is_titled_from_its_slug(jekyll):
    jekyll.file("_posts/2024-03-01-why-i-use-JEKYLL.md", "---\nlayout: post\n---\nx\n")
    jekyll.build()
    assert jekyll.feed().entries[0].title == "Why I Use Jekyll"


def test_title_keeps_underscores_and_cases_as_jekyll_does(jekyll):
    jekyll.config("title: Blog\nurl: https://jekyll.example.com\npermalink: /:title/")
    jekyll.post("2011-06-01-rurima-1_9_0.md", "title: Rurima")
    assert jekyll.entry("Rurima").link == "https://jekyll.example.com/rurima-1_9_0/"


def test_a_permalink_cannot_climb_out_of_the_site(jekyll):
    jekyll.post("2014-01-06-traversal.md", "title: Baddie\npermalink: /%2e%2e/../baddie.html")
    assert jekyll.entry("Baddie").link == "https://jekyll.example.com/baddie.html"


def test_a_site_without_a_title_gets_one_and_a_warning(jekyll):
    jekyll.config("url: https://jekyll.example.com\n")
    jekyll.post("2024-03-01-x.md")
    result = jekyll.build()
    assert "the site has no title; the feeds are titled 'jekyll.example.com'" in result.output
    assert jekyll.feed().feed.title == "jekyll.example.com"


def test_a_site_name_is_its_title(jekyll):
    jekyll.config("name: Named Blog\nurl: https://jekyll.example.com\n")
    jekyll.post("2024-03-01-x.md")
    result = jekyll.build()
    assert "no title" not in result.output
    assert jekyll.feed().feed.title == "Named Blog"


def test_a_missing_url_is_explained_in_yaml(jekyll):
    jekyll.config("title: Blog\n")
    result = jekyll.run("check")
    assert 'add url: "https://example.com" to _config.yml' in result.output


def test_a_wordpress_number_id_is_not_an_error(jekyll):
    jekyll.post("2010-01-01-imported.md", "title: Imported\nid: 1234")
    assert jekyll.entry("Imported").id == "https://jekyll.example.com/2010/01/01/imported"


def test_a_publisher_toml_beside_config_yml_keeps_jekylls_reading(jekyll):
    jekyll.config("title: Jekyll Blog\nurl: https://jekyll.example.com\npermalink: /:title/\n")
    (jekyll.root / "publisher.toml").write_text(
        '[site]\ntitle = "From TOML"\nurl = "https://toml.example.com"\n'
    )
    jekyll.post("en/_posts/2024-03-01-hello.md", "title: Hello")
    jekyll.build()
    feed = jekyll.feed()
    assert feed.feed.title == "From TOML"
    entry = feed.entries[0]
    assert entry.link == "https://toml.example.com/hello/"
    assert entry.id == "https://toml.example.com/hello"
    assert [tag.term for tag in entry.tags] == ["en"]


def test_future_and_show_drafts_in_config_yml_publish_those_posts(jekyll):
    jekyll.config(
        "title: Jekyll Blog\nurl: https://jekyll.example.com\nfuture: true\nshow_drafts: true\n"
    )
    jekyll.post("2999-01-01-later.md", "title: Later")
    jekyll.post("_drafts/draft.md", "title: Draft\ndate: 2024-01-01")
    jekyll.build()
    assert {e.title for e in jekyll.feed().entries} == {"Later", "Draft"}


def test_trailing_dots_leave_the_slug_as_jekyll_does(jekyll):
    jekyll.file("_posts/2024-01-01-hello....md", "---\ntitle: Dots\n---\nx\n")
    entry = jekyll.entry("Dots")
    assert entry.link == "https://jekyll.example.com/2024/01/01/hello.html"
    assert entry.id == "https://jekyll.example.com/2024/01/01/hello"
