"""JSON read from outside (page tokens, secrets a bank uploads, providers' answers and receipts) with a
bound on its nesting. Python's parser recurses once per level, so text nested 100,000 deep raises
RecursionError, which no caller expects of bad input; and a value parsed just under that limit can
recurse out later (str() or json.dumps() of it, deeper in the stack). Every document Engage reads is a
few levels deep, so anything past MAX_DEPTH is refused as unreadable, like any other bad JSON."""

from __future__ import annotations

import json
from typing import Any

# Levels of arrays and objects: a page token needs 2, a provider's answer 3, a service account 1.
MAX_DEPTH = 32


class JsonTooDeep(ValueError):
    """JSON nested more than the reader allows (a ValueError, as json's own JSONDecodeError is)."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"nested more than {max_depth} levels deep")
        self.max_depth = max_depth


def loads_bounded(text: str | bytes, max_depth: int = MAX_DEPTH, **options: Any) -> Any:
    """json.loads(text, **options), raising JsonTooDeep when arrays and objects nest more than
    max_depth levels (whether or not the parser ran out of stack first). Any other fault of the text
    raises json's ValueError, as before."""
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise JsonTooDeep(max_depth) from None
    if deeper_than(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value


def deeper_than(value: object, max_depth: int) -> bool:
    """Whether lists and dicts in `value` nest more than max_depth levels; walked with an explicit
    stack, since reading a value nested near the parser's limit by recursion could run out again."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth >= max_depth:
                    return True
                stack.append((child, depth + 1))
    return False
