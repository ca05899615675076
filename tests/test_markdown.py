"""The markdown renderer: what Lemmy clients render, and nothing a hostile author or server can abuse."""

from __future__ import annotations

import html
import json
import re
import time
import uuid

import pytest

from moot.demo.load import DEMO_FILE
from moot.domain.markdown import MAX_INPUT_CHARS, MAX_NESTING, render_inline, render_markdown, sanitize_html

REL = 'rel="nofollow noopener ugc"'


def _tags(rendered: str) -> set[str]:
    return {name.lower() for name in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", rendered)}


def _attributes(rendered: str) -> set[str]:
    return {name.lower() for name in re.findall(r"\s([a-zA-Z-]+)=\"", rendered)}


# --- features -------------------------------------------------------------------------------------


def test_empty_and_plain_text() -> None:
    assert render_markdown("") == ""
    assert render_markdown("hello") == "<p>hello</p>\n"
    assert render_markdown("a & b < c") == "<p>a &amp; b &lt; c</p>\n"


def test_emphasis_and_line_breaks() -> None:
    out = render_markdown("**bold** *it* __b2__ `co<de>`  \nnext")
    assert "<strong>bold</strong>" in out
    assert "<em>it</em>" in out
    assert "<strong>b2</strong>" in out
    assert "<code>co&lt;de&gt;</code>" in out
    assert "<br>" in out


@pytest.mark.parametrize("level", range(1, 7))
def test_headings_h1_to_h6(level: int) -> None:
    assert render_markdown("#" * level + " Title") == f"<h{level}>Title</h{level}>\n"


def test_blockquote_and_nested_blockquote() -> None:
    out = render_markdown("> quoted\n>> deeper\n\nreply")
    assert out == (
        "<blockquote>\n<p>quoted</p>\n<blockquote>\n<p>deeper</p>\n</blockquote>\n</blockquote>\n<p>reply</p>\n"
    )


def test_lists_keep_ordered_start() -> None:
    assert render_markdown("- a\n- b") == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"
    assert render_markdown("3. a\n4. b").startswith('<ol start="3">\n<li>a</li>')


def test_fenced_code_keeps_language_class_only() -> None:
    out = render_markdown("```python\nprint('<hi>')\n```")
    assert out == "<pre><code class=\"language-python\">print('&lt;hi&gt;')\n</code></pre>\n"
    # A hostile info string cannot smuggle attributes or odd classes.
    hostile = render_markdown('```" onmouseover="alert(1)\nx\n```')
    assert "onmouseover" not in hostile
    assert hostile == "<pre><code>x\n</code></pre>\n"


def test_indented_code_block() -> None:
    assert render_markdown("    <b>x</b>") == "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n"


def test_table_alignment_without_style() -> None:
    out = render_markdown("| a | b | c |\n|:-|--:|:-:|\n| 1 | 2 | 3 |")
    assert '<th align="left">a</th>' in out
    assert '<th align="right">b</th>' in out
    assert '<td align="center">3</td>' in out
    assert "style" not in out
    assert {"table", "thead", "tbody", "tr", "th", "td"} <= _tags(out)


def test_strikethrough_and_subscript() -> None:
    out = render_markdown("~~gone~~ H~2~O ~not sub~")
    assert "<s>gone</s>" in out
    assert "H<sub>2</sub>O" in out
    # Like markdown-it-sub, a space ends the chance of a subscript.
    assert "~not sub~" in out


def test_superscript() -> None:
    assert render_markdown("x^2^ and Markdown^TM^") == "<p>x<sup>2</sup> and Markdown<sup>TM</sup></p>\n"


def test_footnotes() -> None:
    out = render_markdown("Bold claim.[^1]\n\n[^1]: example source")
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1" ' in out
    assert '<section class="footnotes">' in out
    assert '<li id="fn1" class="footnote-item"><p>example source' in out
    assert 'href="#fnref1" class="footnote-backref"' in out


def test_spoiler_renders_details() -> None:
    out = render_markdown("::: spoiler click to see more\nhow *spicy*!\n:::")
    assert out == "<details><summary>click to see more</summary>\n<p>how <em>spicy</em>!</p>\n</details>\n"


def test_spoiler_title_is_escaped_text() -> None:
    out = render_markdown('::: spoiler <img src=x onerror="alert(1)">\nbody\n:::')
    assert out.startswith("<details><summary>&lt;img src=x onerror=")
    assert "<img" not in out


def test_spoiler_needs_a_title() -> None:
    out = render_markdown("::: spoiler\nbody\n:::")
    assert "<details>" not in out
    assert out.startswith("<p>::: spoiler")


def test_links_get_rel_and_no_target() -> None:
    out = render_markdown('[Lemmy](https://join-lemmy.org/ "Join")')
    assert out == f'<p><a href="https://join-lemmy.org/" title="Join" {REL}>Lemmy</a></p>\n'
    assert "target" not in out


def test_mailto_and_relative_links_are_kept() -> None:
    out = render_markdown("[mail](mailto:a@example.com) [here](/c/news)")
    assert f'<a href="mailto:a@example.com" {REL}>mail</a>' in out
    assert f'<a href="/c/news" {REL}>here</a>' in out


def test_other_link_schemes_lose_their_href() -> None:
    out = render_markdown("[f](ftp://example.com/x) [m](magnet:?xt=urn:btih:abc)")
    assert "href" not in out
    assert ">f</a>" in out


def test_images_http_and_https_only() -> None:
    out = render_markdown('![alt text](https://example.com/a.png "t")')
    assert out == '<p><img src="https://example.com/a.png" alt="alt text" title="t"></p>\n'
    for src in ["/local.png", "mailto:a@b.c", "data:image/png;base64,iVBORw0KGgo="]:
        assert "src" not in render_markdown(f"![x]({src})"), src


def test_render_inline_has_no_block_wrapper() -> None:
    assert render_inline("A *title* with [link](https://e.example)") == (
        f'A <em>title</em> with <a href="https://e.example" {REL}>link</a>'
    )
    assert render_inline("# not a heading") == "# not a heading"
    assert render_inline("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"


def test_our_output_survives_sanitising_unchanged() -> None:
    sample = (
        "# T\n\n> q\n\n1. a\n\n```py\nx\n```\n\n| a |\n|:-:|\n| 1 |\n\n~~s~~ ~b~ ^p^ [l](https://x.example)"
        "[^1]\n\n::: spoiler s\nb\n:::\n\n![i](https://x.example/i.png)\n\n[^1]: n"
    )
    rendered = render_markdown(sample)
    assert sanitize_html(rendered) == rendered


# --- XSS and abuse ------------------------------------------------------------------------------


def test_script_tag_is_escaped() -> None:
    out = render_markdown("<script>alert('xss')</script> hello")
    assert "<script" not in out
    assert "&lt;script&gt;alert('xss')&lt;/script&gt; hello" in out


def test_raw_img_with_onerror_is_escaped() -> None:
    out = render_markdown('<img src="x" onerror="alert(1)">')
    assert "<img" not in out
    assert out == '<p>&lt;img src="x" onerror="alert(1)"&gt;</p>\n'


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD4="],
)
def test_dangerous_markdown_links_never_become_links(href: str) -> None:
    for text in (f"[x]({href})", f"<{href}>"):
        out = render_markdown(text)
        assert "href" not in out, out
        assert "<a" not in out, out


@pytest.mark.parametrize("src", ["data:image/svg+xml;base64,PHN2Zz4=", "data:image/png;base64,iVBORw0KGgo="])
def test_data_url_image_never_gets_a_source(src: str) -> None:
    out = render_markdown(f"![x]({src})")
    assert "src=" not in out


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "vbscript:x",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_remote_html_dangerous_hrefs_removed(href: str) -> None:
    out = sanitize_html(f'<a href="{href}">x</a>')
    assert "href" not in out, out
    assert out == f"<a {REL}>x</a>"


def test_remote_html_scripts_styles_frames_removed_with_content() -> None:
    out = sanitize_html(
        "<p>ok</p><script>alert(1)</script><style>p{}</style><iframe src='https://e.example'>f</iframe>"
        "<svg><text>s</text></svg><object data='x'>o</object>"
    )
    assert out == "<p>ok</p>"


def test_remote_html_event_handlers_and_style_removed() -> None:
    out = sanitize_html(
        '<p style="position:fixed" onclick="x()">t<img src="https://e.example/i.png" onerror="alert(1)"'
        ' onload="y()"></p>'
    )
    assert out == '<p>t<img src="https://e.example/i.png"></p>'


def test_remote_html_image_sources_http_only() -> None:
    for src in ["javascript:alert(1)", "data:image/png;base64,AAAA", "/relative.png", "mailto:a@b.c"]:
        assert "src" not in sanitize_html(f'<img src="{src}" alt="a">'), src


def test_remote_html_links_rel_replaced_and_target_dropped() -> None:
    out = sanitize_html('<a href="https://e.example" target="_blank" rel="me opener">x</a>')
    assert out == f'<a href="https://e.example" {REL}>x</a>'


def test_remote_html_classes_and_ids_only_our_own() -> None:
    out = sanitize_html(
        '<p class="x"><span class="h-card"><a class="u-url mention footnote-backref" href="#fnref1" id="main">@a</a>'
        '</span><code class="language-rust evil">c</code><li id="fn2" class="footnote-item bad">f</li></p>'
    )
    assert 'class="x"' not in out
    assert "h-card" not in out
    assert "mention" not in out
    assert 'id="main"' not in out
    assert 'class="footnote-backref"' in out
    assert '<code class="language-rust">' in out
    assert '<li id="fn2" class="footnote-item">' in out


def test_remote_html_keeps_lemmy_markup() -> None:
    lemmy = (
        "<details>\n<summary>\nclick\n</summary>\n<p>hi</p>\n</details>\n<blockquote><p>q</p></blockquote>"
        "<p>log<sub>2</sub>(a) x<sup>2</sup> <del>d</del> <ruby>漢<rp>(</rp><rt>Kan</rt><rp>)</rp></ruby></p>"
    )
    assert sanitize_html(lemmy) == lemmy


def test_remote_html_unknown_tags_unwrapped() -> None:
    assert sanitize_html("<div><font color=red>t</font><form><input value=1>x</form></div>") == "tx"


def test_nested_quotes_1000_deep_is_fast_and_bounded() -> None:
    for text in (">" * 1000 + " deep", "\n".join(">" * i + " x" for i in range(1, 1001))):
        started = time.perf_counter()
        out = render_markdown(text)
        assert time.perf_counter() - started < 2.0
        assert out.count("<blockquote>") <= MAX_NESTING
        assert len(out) < 10 * len(text)


def test_deeply_nested_lists_bounded() -> None:
    text = "".join("  " * i + "- a\n" for i in range(1000))
    started = time.perf_counter()
    out = render_markdown(text)
    assert time.perf_counter() - started < 2.0
    assert out.count("<ul>") <= MAX_NESTING


def test_nested_spoilers_bounded() -> None:
    out = render_markdown("::: spoiler s\n" * 500 + "x\n" + ":::\n" * 500)
    assert out.count("<details>") <= MAX_NESTING


def test_long_markdown_is_truncated_before_parsing() -> None:
    text = "a" * (MAX_INPUT_CHARS - 1) + "\n\nTAIL_MARKER"
    out = render_markdown(text)
    assert "TAIL_MARKER" not in out
    assert out.count("a") >= MAX_INPUT_CHARS - 1
    assert "TAIL_MARKER" not in render_inline(text)


def test_long_remote_html_is_truncated() -> None:
    out = sanitize_html("<p>" + "b" * MAX_INPUT_CHARS + "TAIL_MARKER</p>")
    assert "TAIL_MARKER" not in out
    assert out.startswith("<p>bbb")


def test_footnote_heavy_input_is_not_cut_after_rendering() -> None:
    # Rendered HTML may outgrow the input cap; only the input is capped, never our own output.
    refs = "".join(f"[^{i}]" for i in range(3000))
    defs = "".join(f"[^{i}]: note {i}\n" for i in range(3000))
    out = render_markdown(refs + "\n\n" + defs)
    assert len(out) > MAX_INPUT_CHARS
    assert out.rstrip().endswith("</section>")


# --- the example thread ----------------------------------------------------------------------------


def _seed() -> dict[str, object]:
    data: dict[str, object] = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    return data


def _seed_texts() -> list[str]:
    data = _seed()
    post = data["post"]
    comments = data["comments"]
    assert isinstance(post, dict)
    assert isinstance(comments, list)
    return [str(post["body_markdown"]), *(str(comment["content_markdown"]) for comment in comments)]


def test_seed_thread_renders_every_comment() -> None:
    texts = _seed_texts()
    assert len(texts) > 20
    for text in texts:
        out = render_markdown(text)
        assert out.startswith(("<p>", "<blockquote>")), out[:80]
        assert _tags(out) <= {"p", "blockquote", "em", "strong", "a", "br", "ul", "ol", "li", "code"}
        assert _attributes(out) <= {"href", "rel"}


def test_seed_thread_quotes_become_blockquotes() -> None:
    quoting = [text for text in _seed_texts() if text.startswith("> ")]
    assert len(quoting) >= 5
    for text in quoting:
        out = render_markdown(text)
        assert out.startswith("<blockquote>\n<p>")
        quoted = " ".join(re.findall(r"<blockquote>(.*?)</blockquote>", out, flags=re.DOTALL))
        for line in text.splitlines():
            if line.startswith("> "):
                assert html.escape(line[2:].strip(), quote=False) in quoted
        # The reply after the quote stays outside it.
        last = text.splitlines()[-1]
        assert html.escape(last, quote=False) not in quoted


def test_rendered_html_is_kept_for_short_texts_only() -> None:
    """A thread's page renders its comments' markdown for every reader: short texts are rendered once per
    process; long ones each time, so what is kept stays bounded."""
    from moot.domain import markdown as md

    text = f"kept once: **{uuid.uuid4().hex}**"
    before = md._render_kept.cache_info()
    first = md.render_markdown(text, mentions=True)
    assert md.render_markdown(text, mentions=True) == first
    after = md._render_kept.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    assert md.render_markdown(text) == md._render(text, False)  # without mentions: its own entry
    long_text = "word " * (md.RENDERED_CHARS // 5 + 1)
    size = md._render_kept.cache_info().currsize
    assert md.render_markdown(long_text) == md._render(long_text, False)
    assert md._render_kept.cache_info().currsize == size
