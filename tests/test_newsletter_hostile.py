"""Hostile and odd input never breaks out of the newsletter or into its headers."""

from tests.helpers import render_newsletter


def test_script_in_a_title_is_escaped(letters):
    letters.post("2024-01-01-a.md", 'title: "<script>alert(1)</script>"')
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert "<script>" not in preview.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.html


def test_line_breaks_in_the_subject_are_rejected(letters):
    letters.post(
        "2024-01-01-a.md", 'title: A\nnewsletter_subject: "Hi\\r\\nBcc: victim@example.com"'
    )
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert preview.result.exit_code == 1
    assert (
        "posts/2024-01-01-a.md:3: error: the newsletter subject (newsletter_subject) contains "
        "a line break" in preview.result.output
    )
    assert not preview.folder.exists()


def preview_with_newsletter_setting(letters, setting: str):
    """A preview of a site whose [newsletter] table holds `setting`."""
    letters.config(f"[site]\ntitle='T'\nurl='https://example.com'\n[newsletter]\n{setting}\n")
    letters.post("2024-01-01-a.md")
    return render_newsletter(letters, "posts/2024-01-01-a.md")


def test_line_breaks_in_newsletter_settings_are_rejected(letters):
    preview = preview_with_newsletter_setting(letters, 'from_name = "Me\\nBcc: x@example.com"')
    assert preview.result.exit_code == 1
    assert "newsletter from_name contains a line break" in preview.result.output


def test_a_post_without_headings_has_no_outline(letters):
    letters.post("2024-01-01-a.md", "title: Flat", "Just one paragraph.")
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert "In this post" not in preview.html
    assert "In this post" not in preview.text
    assert "Just one paragraph." in preview.html


def test_a_post_without_a_summary_still_renders(letters):
    letters.post("2024-01-01-a.md", "title: Empty", "## Only a heading\n")
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert preview.result.exit_code == 0
    assert "Read the full post" in preview.html
    assert "Only a heading" in preview.html


def test_a_huge_post_sends_its_summary_instead(letters):
    body = "Opening summary.\n\n" + ("A long paragraph of text. " * 40 + "\n\n") * 200
    letters.post("2024-01-01-a.md", "title: Huge\nnewsletter_content: full", body)
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    assert "longer than Gmail shows; sending the summary" in preview.result.output
    assert len(preview.html.encode()) < 100_000
    assert "Opening summary." in preview.html


def test_a_digest_of_zero_posts_writes_nothing(letters):
    letters.post("2030-01-01-later.md")
    preview = render_newsletter(letters, "--digest", "--now", "2026-01-01")
    assert preview.result.exit_code == 0
    assert "No posts for the digest: nothing was written." in preview.result.output
    assert not preview.folder.exists()


def test_post_and_digest_together_is_a_usage_error(letters):
    letters.post("2024-01-01-a.md")
    preview = render_newsletter(letters, "posts/2024-01-01-a.md", "--digest")
    assert preview.result.exit_code == 2
    assert "give either a POST or --digest" in preview.result.output


def test_a_sender_address_that_could_inject_smtp_commands_is_rejected(letters):
    preview = preview_with_newsletter_setting(
        letters, 'from_address = "me@example.com> RCPT TO:<victim@example.com"'
    )
    assert preview.result.exit_code == 1
    assert "newsletter from_address" in preview.result.output
    assert "is not an address" in preview.result.output
