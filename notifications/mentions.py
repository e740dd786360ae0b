"""`@username` in Markdown text, outside code.

A mention is `@` at the start of the text or after a character that cannot be part of a
name, an address or a path (so `bob@example.com` and `https://example.social/@bob`
mention nobody), followed by a username
(letters, digits, `. + - _`, as accounts.models.User allows). Fenced code blocks, indented
code blocks and code spans are left out, as CommonMark reads them: a decorator in a code
sample is not a mention. Which names are users, and who may see the issue, is the
consumer's to decide (services.py); this only reads text.
"""

import re

# The name may end in . or - only if a user is so named: "@alice." at the end of a
# sentence is tried as "alice." and as "alice" (candidates()).
MENTION = re.compile(r"(?<![\w@.+\-/])@([\w][\w.+\-]*)")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
# Names are at most 150 characters (User.username); no more mentions than this per text.
MAX_NAME = 150
MAX_MENTIONS = 50


def without_code(text: str) -> str:
    """The text with its code blocks and code spans blanked out."""
    kept = []
    fence = None  # the opening fence's character and length while inside a fenced block
    previous_blank = True
    in_indented = False
    for line in text.splitlines():
        if fence is not None:
            match = FENCE.match(line)
            closes = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
            if closes and not line.strip().strip(fence[0]):
                fence = None
            kept.append("")
            continue
        match = FENCE.match(line)
        if match:
            fence = match.group(1)
            kept.append("")
            previous_blank = False
            in_indented = False
            continue
        blank = not line.strip()
        indented = line.startswith(("    ", "\t"))
        # An indented code block starts after a blank line (it cannot interrupt a paragraph)
        # and goes on until a line that is neither indented nor blank.
        if indented and not blank and (previous_blank or in_indented):
            in_indented = True
            kept.append("")
            previous_blank = False
            continue
        if not blank:
            in_indented = False
        kept.append(line)
        previous_blank = blank
    return CODE_SPAN.sub(" ", "\n".join(kept))


def mentioned_names(text: str | None) -> list[str]:
    """The names mentioned in `text`, lower-cased, in order, each once."""
    if not text:
        return []
    names = []
    for match in MENTION.finditer(without_code(text)):
        name = match.group(1)[:MAX_NAME].lower()
        if name not in names:
            names.append(name)
        if len(names) >= MAX_MENTIONS:
            break
    return names


def candidates(name: str) -> list[str]:
    """The usernames a mentioned name may stand for: itself, and without the punctuation
    that ends a sentence ("@alice." -> "alice")."""
    stripped = name.rstrip(".-")
    return [name] if stripped in ("", name) else [name, stripped]
