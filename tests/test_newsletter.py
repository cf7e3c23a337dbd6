"""The newsletter as subscribers get it: content, structure and the MIME message."""

import email
import re
from email import policy

from publisher.mail.newsletter import Newsletter, Recipient, personalize
from tests.helpers import NEWSLETTER_CONFIG, SEED, SEED_SUMMARY, SEED_URL, render_newsletter


def test_seed_newsletter_leads_with_the_summary(bundled):
    preview = render_newsletter(bundled, SEED)
    assert preview.result.exit_code == 0, preview.result.output
    assert "Subject: Review of Andrew Ng's Deep Learning Specialization" in preview.result.output
    assert SEED_SUMMARY in preview.html
    assert "TL;DR" not in preview.html
    assert SEED_SUMMARY in " ".join(preview.text.split())


def test_seed_outline_links_to_anchors_of_the_post(bundled):
    bundled.build()
    post_html = bundled.feed().entries[0].content[0].value
    preview = render_newsletter(bundled, SEED)
    links = re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', preview.html)
    assert [text for _, text in links] == ["The Good", "The not so Good", "Overall"]
    for url, _ in links:
        page, anchor = url.split("#")
        assert page == SEED_URL
        assert f'id="{anchor}"' in post_html
        assert url in preview.text


def test_seed_has_a_call_to_action_and_a_footer(bundled):
    preview = render_newsletter(bundled, SEED)
    assert re.search(
        rf'<a class="button" href="{re.escape(SEED_URL)}"[^>]*>Read the full review</a>',
        preview.html,
    )
    assert f"Read the full review: {SEED_URL}" in " ".join(preview.text.split())
    for page in (preview.html, preview.text):
        assert "https://blog.example.com/unsubscribe?token=preview" in page
        assert "1 Example Street, Springfield, USA" in page
        assert "https://blog.example.com/feed.xml" in page
        assert "because you subscribed to" in page


def test_seed_emoji_is_repaired_in_both_parts(bundled):
    bundled.post("2018-02-05-short.md", "title: Short\ntags: [Review]", "Free time ðŸ˜… soon.")
    preview = render_newsletter(bundled, "posts/2018-02-05-short.md")
    for page in (preview.html, preview.text):
        assert "Free time 😅 soon." in page
        assert "ðŸ" not in page


def test_every_link_and_image_is_absolute(letters):
    letters.post(
        "2024-01-01-a.md",
        "title: A\nnewsletter_content: full",
        "![chart](img/chart.png)\n\n[about](../about/) [top](#top)\n",
    )
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    for url in re.findall(r'(?:href|src)="([^"]*)"', preview.html):
        assert url.startswith(("https://", "mailto:")), url


def test_eml_parses_into_text_then_html_with_list_headers(bundled):
    preview = render_newsletter(bundled, SEED)
    message = email.message_from_bytes(preview.eml, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert message["From"] == "Notes on Machine Learning <newsletter@blog.example.com>"
    assert message["To"] == "subscriber@example.com"
    assert message["Subject"] == "Review of Andrew Ng's Deep Learning Specialization"
    assert message["Date"]
    assert message["Message-ID"].endswith("@blog.example.com>")
    assert message["List-Unsubscribe"] == (
        "<https://blog.example.com/unsubscribe?token=preview>, "
        "<mailto:unsubscribe@blog.example.com?subject=unsubscribe%20preview>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Notes on Machine Learning <newsletter.blog.example.com>"
    html = message.get_body(("html",)).get_content()
    assert "😅" not in html  # the seed's summary mode leaves the body out
    assert SEED_SUMMARY in html


def test_html_is_built_for_mail_clients(bundled):
    html = render_newsletter(bundled, SEED).html
    assert '<html lang="en" dir="ltr"' in html
    assert 'role="presentation"' in html
    assert "max-width: 600px" in html
    assert re.search(r'<h1 class="title" style="[^"]+">', html), "styles are inlined"
    assert "@media (prefers-color-scheme: dark)" in html
    assert "@media only screen and (max-width: 620px)" in html
    preheader = re.search(r'<div class="preheader" style="display:none;[^"]*">([^<]*)</div>', html)
    assert preheader and preheader.group(1).startswith(SEED_SUMMARY)
    assert len(html.encode()) < 100_000


def test_first_image_is_shown_with_alt_text(letters):
    letters.post(
        "2024-01-01-a.md", "title: Pictured", "Intro.\n\n![A chart of results](chart.png)\n"
    )
    html = render_newsletter(letters, "posts/2024-01-01-a.md").html
    assert re.search(
        r'<img class="hero" [^>]*src="https://example.com/2024/01/01/chart.png" '
        r'alt="A chart of results"',
        html,
    )
    for tag in re.findall(r"<img [^>]*>", html):
        assert 'alt="' in tag


def test_full_content_from_front_matter(letters):
    letters.post(
        "2024-01-01-a.md",
        "title: A\nnewsletter_content: full",
        "First.\n\n## Part\n\nSecond part.\n",
    )
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert "Second part." in preview.html
    assert "Second part." in preview.text
    assert "In this post" not in preview.html


def test_full_content_from_site_setting(letters):
    letters.config((letters.root / "publisher.toml").read_text() + 'content = "full"\n')
    letters.post("2024-01-01-a.md", "title: A", "First.\n\nSecond paragraph.\n")
    assert "Second paragraph." in render_newsletter(letters, "posts/2024-01-01-a.md").html


def test_subject_from_front_matter(letters):
    letters.post("2024-01-01-a.md", "title: A\nnewsletter_subject: This week's review")
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert "Subject: This week's review" in preview.result.output


def test_post_can_be_named_by_id(letters):
    letters.post("2024-01-01-a.md", "title: By id\nid: tag:example.com,2024:by-id")
    preview = render_newsletter(letters, "tag:example.com,2024:by-id")
    assert "Subject: By id" in preview.result.output


def test_unknown_post_is_a_clear_error(letters):
    letters.post("2024-01-01-a.md")
    preview = render_newsletter(letters, "posts/missing.md")
    assert preview.result.exit_code == 2
    assert "no post 'posts/missing.md'" in preview.result.output


def test_personalizing_fills_only_the_subscriber_parts():
    letter = Newsletter(
        "S",
        '<p>%%publisher:greeting%% <a href="%%publisher:unsubscribe_url%%">u</a></p>',
        "%%publisher:greeting%% %%publisher:unsubscribe_url%%",
        (),
    )
    html, text = personalize(
        letter, Recipient("a@example.com", "Ann <b>&</b>", "https://x/u?t=1&s=2")
    )
    assert html == '<p>Hi Ann &lt;b&gt;&amp;&lt;/b&gt;, <a href="https://x/u?t=1&amp;s=2">u</a></p>'
    assert text == "Hi Ann <b>&</b>, https://x/u?t=1&s=2"
    html, _ = personalize(letter, Recipient("b@example.com", "", "https://x/u"))
    assert html.startswith("<p>Hello,")


def test_site_templates_override_the_shipped_ones(letters):
    (letters.root / "templates").mkdir()
    (letters.root / "templates" / "post.txt").write_text("Custom: {{ items[0].title }}\n")
    letters.post("2024-01-01-a.md", "title: Mine")
    assert render_newsletter(letters, "posts/2024-01-01-a.md").text == "Custom: Mine\n"


def test_undefined_template_variables_are_errors(letters):
    (letters.root / "templates").mkdir()
    (letters.root / "templates" / "post.txt").write_text("{{ no_such_thing }}\n")
    letters.post("2024-01-01-a.md")
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert preview.result.exit_code == 1
    assert "templates/post.txt: error: 'no_such_thing' is undefined" in preview.result.output
    assert not (preview.folder / "message.txt").exists()


def test_outlook_gets_a_fixed_width_and_a_button_with_its_padding_on_the_cell(bundled):
    html = render_newsletter(bundled, SEED).html
    assert '<!--[if mso]><table role="presentation" width="600"' in html
    cell = re.search(r'<td class="button-cell" style="([^"]+)"', html)[1]
    assert "mso-padding-alt: 12px 24px" in cell
    assert "background-color: #0969da" in cell


def test_preheader_is_hidden_without_tricks_spam_filters_score(bundled):
    html = render_newsletter(bundled, SEED).html
    preheader = re.search(r'<div class="preheader" style="([^"]*)">([^<]*)</div>', html)
    assert "color:transparent" not in preheader[1] and "font-size:1px" not in preheader[1]
    spacer = "\u034f\u200c&nbsp;"  # &#847;&zwnj;&nbsp;, as the inliner writes it
    assert preheader[2].endswith(spacer * 10), "a spacer stops the preview there"


def test_a_logo_takes_the_masthead_with_a_dark_mode_variant(letters):
    letters.config(NEWSLETTER_CONFIG + 'logo = "/logo.png"\nlogo_dark = "/logo-dark.png"\n')
    letters.post("2024-01-01-a.md")
    html = render_newsletter(letters, "posts/2024-01-01-a.md").html
    assert re.search(r'<img class="logo logo-light"[^>]* src="https://example.com/logo.png"', html)
    assert 'src="https://example.com/logo-dark.png"' in html
    assert ".logo-dark { display: inline-block !important; }" in html
