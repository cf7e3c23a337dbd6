"""What mail clients drop (players, scripts) becomes a link in the newsletter; highlighted
code keeps its colours."""

from __future__ import annotations

from publisher.site.embeds import for_mail
from tests.helpers import render_newsletter


def test_a_youtube_player_becomes_its_picture_and_a_link():
    html = for_mail('<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>')
    assert '<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">' in html
    assert 'src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"' in html
    assert "<iframe" not in html


def test_a_gist_and_an_asciicast_become_links():
    html = for_mail(
        '<script src="https://gist.github.com/parkr/931c.js"> </script>'
        '<script src="https://asciinema.org/a/14.js" id="asciicast-14" async></script>'
    )
    assert '<a href="https://gist.github.com/parkr/931c">' in html
    assert '<img src="https://asciinema.org/a/14.svg"' in html
    assert "<script" not in html


def test_other_scripts_go_and_other_frames_become_links():
    html = for_mail(
        '<script>track()</script><iframe src="https://maps.example.com/x?a=1&amp;b=2"></iframe>'
    )
    assert "track()" not in html
    assert '<a href="https://maps.example.com/x?a=1&amp;b=2">' in html


def test_an_embed_without_a_web_address_is_dropped():
    assert for_mail('<iframe src="javascript:alert(1)"></iframe>') == ""


def test_the_newsletter_of_a_jekyll_post_shows_links_and_coloured_code(jekyll):
    jekyll.config(
        """
        title: Blog
        url: https://jekyll.example.com
        newsletter: {content: full, from_address: news@example.com, postal_address: 1 Road}
        """
    )
    jekyll.post(
        "2024-01-01-talk.md",
        "title: Talk",
        '<iframe src="https://www.youtube.com/embed/abcdefghijk"></iframe>\n\n'
        "{% highlight python %}\nimport os\n{% endhighlight %}\n",
    )
    preview = render_newsletter(jekyll, "_posts/2024-01-01-talk.md")
    assert preview.result.exit_code == 0, preview.result.output
    assert "https://www.youtube.com/watch?v=abcdefghijk" in preview.html
    assert "<iframe" not in preview.html
    assert (
        '<span class="kn" style="color: #008000;font-weight: bold;">import</span>' in preview.html
    )
