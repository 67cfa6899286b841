"""The HTML report (`engagectl reports html`): plain dataclasses in, one self-contained HTML page out."""
