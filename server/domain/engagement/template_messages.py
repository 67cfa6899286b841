"""Template errors in the words of someone writing a message, not of Jinja's parser: `'}}'` rather
than "end of print statement", "no value for 'amount'" rather than "'dict object' has no attribute",
and no Python class names."""

from __future__ import annotations

import re

# Jinja's names of its own delimiters, as its syntax errors quote them.
_DELIMITERS = {
    "end of print statement": "'}}'",
    "begin of print statement": "'{{'",
    "end of statement block": "'%}'",
    "begin of statement block": "'{%'",
    "end of template": "the end of the text",
    "name": "a name",
}
_REWORDED = (
    (re.compile(r"[Uu]nexpected end of template\. Jinja was looking for the following tags: "),
     "the text ends too soon; expected "),
    (re.compile(r"[Uu]nexpected end of template, expected "), "the text ends too soon; expected "),
    (re.compile(r"\.? ?The innermost block that needs to be closed is '(\w+)'\.?"), r" (to close {% \1 %})"),
    (re.compile(r"Jinja was looking for the following tags: "), "expected "),
    (re.compile(r"^Encountered unknown tag"), "unknown tag"),
    (re.compile(r"^Expected an expression"), "expected a token or a value"),
    (re.compile(r"expected token "), "expected "),
)
_MISSING = (
    re.compile(r"'[\w ]+ object' has no attribute '([^']+)'"),
    re.compile(r"'([^']+)' is undefined"),
    re.compile(r"access to attribute '([^']+)'"),
)


def syntax_message(jinja_message: str) -> str:
    text = jinja_message
    for pattern, plain in _REWORDED:
        text = pattern.sub(plain, text)
    for name, plain in _DELIMITERS.items():
        text = text.replace(f"'{name}'", plain)
    return text.rstrip(".")


def missing_message(jinja_message: str) -> str:
    """A token without a value: names the missing part when Jinja's message does."""
    for pattern in _MISSING:
        found = pattern.search(jinja_message)
        if found:
            return f"no value for '{found.group(1)}'"
    return "a token has no value"


def failed_message(error: Exception) -> str:
    """An operator or filter that cannot take the values (text divided by text, round on text)."""
    detail = str(error)
    plain = "a token's value does not fit the operator or filter applied to it"
    # Python's own wording names dunder methods (`doesn't define __round__`): not for a message writer.
    return f"{plain} ({detail})" if detail and "__" not in detail else plain
