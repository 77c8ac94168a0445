"""Customers speak text, never commands: what Rasa would read as an intent command, and how it is told apart.

Rasa 3.6 takes a user message as a command, not as words, when its text with Python's whitespace stripped
(`str.strip`) starts with "/" (`YAMLStoryReader.unpack_regex_message`, run by the `RegexMessageHandler` and by
the message processor): `/report_fraud` is that intent at confidence 1, `/inform{"email": "x"}` plants
entities, `/restart` restarts the conversation. Buttons are made of such commands: their payload is what the
bot is sent.

So the portal sends a command only as the payload of a button the bot offered, and says so in the message's
metadata (`BUTTON_METADATA_KEY`); it refuses a customer's text that `reads_as_command`. The bot's REST channel
checks again, and neutralises a command that does not come as a button (`neutralise_command`).

`reads_as_command` is wider than Rasa's own test on purpose, so that no normalisation or decoding on the way can
turn a text into a command: it looks past every leading character that is whitespace to Python, invisible (format
characters such as U+200B, U+FEFF, bidi controls, tags), a control character or a combining mark, and takes the
first one left, folded by NFKC (U+FF0F FULLWIDTH SOLIDUS is "/"), as a command if it is a slash or one of the
characters that look like one; and it does so again on the text with percent escapes, HTML character references
and string escapes decoded (`%2F`, `&#47;`, `\u002f`), however many times they were applied.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import unquote

# The key, in a REST-channel message's metadata, that says its text is the payload of a button the customer
# chose.
BUTTON_METADATA_KEY = "switchboard_button"

# "/" and the characters that look like it (Unicode's confusables for SOLIDUS, less letters of other scripts).
SLASHES = frozenset(
    {
        "/",
        "\u2044",  # FRACTION SLASH
        "\u2215",  # DIVISION SLASH
        "\u2571",  # BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
        "\u27cb",  # MATHEMATICAL RISING DIAGONAL
        "\u29f8",  # BIG SOLIDUS
        "\u2e4a",  # DOTTED SOLIDUS
        "\u3033",  # VERTICAL KANA REPEAT MARK UPPER HALF
        "\uff0f",  # FULLWIDTH SOLIDUS (NFKC folds it to "/" already)
        "\U0001f67c",  # VERY HEAVY SOLIDUS
    }
)
# Characters no reader sees before the first visible one: controls, format (zero-width, BOM, bidi, tags), marks.
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Mc", "Zs", "Zl", "Zp"})


def _unseen(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in _UNSEEN_CATEGORIES


def _command_start(text: str) -> int | None:
    """The index in `text` of the slash that makes it read as a command, or None."""
    for index, char in enumerate(text):
        if _unseen(char):
            continue
        folded = unicodedata.normalize("NFKC", char)
        return index if folded and folded[0] in SLASHES else None
    return None


_MAX_DECODINGS = 8  # a text encoded more times than this is refused as a command, to be safe


# The escapes of JSON and Python string literals that can spell a character: \u002f, \x2f, \U0000002f, \/.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8})|(/))")


def _unescape(text: str) -> str:
    def char(match: re.Match[str]) -> str:
        code = next(group for group in match.groups() if group)
        if code == "/":
            return code
        value = int(code, 16)
        return chr(value) if value < 0x110000 else match.group(0)

    return _ESCAPE.sub(char, text)


def _decodings(text: str) -> Iterator[str]:
    """`text`, then each further decoding of it, until decoding changes nothing (or too many rounds)."""
    for _ in range(_MAX_DECODINGS):
        yield text
        decoded = _unescape(html.unescape(unquote(text)))
        if decoded == text:
            return
        text = decoded
    yield "/"  # still changing: treat as a command


def reads_as_command(text: str) -> bool:
    """Whether `text` is, or could be normalised or decoded into, a Rasa intent command (see the docstring)."""
    return any(_command_start(candidate) is not None for candidate in _decodings(text))


def neutralise_command(text: str) -> str:
    """`text` as words: without the unseen characters and slashes it starts with (`/restart` → `restart`)."""
    index = _command_start(text)
    while index is not None:
        text = text[index + 1 :]
        index = _command_start(text)
    return text.strip()
