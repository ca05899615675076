"""An image in a comment without JavaScript: the comment box's file field (`image`, with an optional description in
`image_alt`) is stored as the post composer's image is (web/uploads.py: the `image` rate limit, the same checks and
storage as `POST /pictrs/image`) and `![description](url)` is added to the comment's text, in the same request.
With the script, the toolbar's Image button uploads to /pictrs/image and puts the same markdown at the cursor."""

from __future__ import annotations

import re

from moot.web.context import Web
from moot.web.routing import Form
from moot.web.uploads import uploaded_url

IMAGE_FIELD = "image"
ALT_FIELD = "image_alt"
ALT_MAX = 200
# Characters that would end or break the markdown's [alt] part, and runs of whitespace (one line, one space).
_UNSAFE = re.compile(r"[\[\]\\]")
_SPACES = re.compile(r"\s+")


def alt_text(form: Form) -> str:
    """The description typed in the form, else the file's name without its extension (`my_cat.png` → `my cat`)."""
    typed = form.text(ALT_FIELD).strip()
    if not typed:
        name = form.filenames.get(IMAGE_FIELD, "").replace("\\", "/").rsplit("/", 1)[-1]
        typed = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
        typed = typed.replace("_", " ")
    return _SPACES.sub(" ", _UNSAFE.sub("", typed)).strip()[:ALT_MAX]


def with_image(content: str, alt: str, url: str) -> str:
    """The text with the image's markdown on a paragraph of its own at the end."""
    text = content.rstrip()
    return f"{text}\n\n![{alt}]({url})" if text else f"![{alt}]({url})"


async def with_uploaded_image(web: Web, form: Form, content: str) -> str:
    """`content` with the form's image added (stored now), or unchanged when the file field was left empty. A refused
    file (not an image, too large, over the rate limit) raises LemmyError with a message for the page."""
    url = await uploaded_url(web, form, IMAGE_FIELD)
    if url is None:
        return content
    return with_image(content, alt_text(form), url)
