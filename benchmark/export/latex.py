"""LaTeX for paper tables: escaping of user text and one booktabs ``table`` environment.

Everything a user named (suite, tasks, candidates, metrics) goes through :func:`escape`, so a
name with ``_``, ``%``, ``&``, ``#``, ``$``, braces or a backslash compiles as the text it is.
The tables need ``\\usepackage{booktabs}`` in the preamble (the file says so in a comment).
"""

from __future__ import annotations

from collections.abc import Sequence

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    # characters the report's formatting uses that pdfLaTeX does not know by default
    "\u2013": "--", "\u2014": "---", "\u202f": r"\,", "\u00a0": "~", "\u2212": "-",
    "\u00b1": r"$\pm$", "\u2248": r"$\approx$", "\u03b1": r"$\alpha$", "\u00d7": r"$\times$",
    "\n": " ", "\r": " ", "\t": " ",
}


def escape(text: object) -> str:
    """``text`` as LaTeX that prints it literally (no command, no math, no alignment tab)."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def bold(tex: str) -> str:
    return r"\textbf{" + tex + "}"


def underline(tex: str) -> str:
    return r"\underline{" + tex + "}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str, caption: str, label: str,
          wide: bool = False) -> str:
    """A floating booktabs table.  ``header`` is plain text (escaped here); ``rows`` are cells that
    are already LaTeX (escape user text with :func:`escape`); ``caption`` is LaTeX too."""
    if len(align) != len(header) or any(len(r) != len(header) for r in rows):
        raise ValueError("every row needs one cell per column")
    env = "table*" if wide else "table"
    lines = [
        "% requires \\usepackage{booktabs}",
        rf"\begin{{{env}}}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{caption}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", rf"\end{{{env}}}", ""]
    return "\n".join(lines)


def slug(text: str) -> str:
    """A file-name and ``\\label`` key for a name: ASCII letters, digits and ``-``, plus a short hash of
    the name so that two names differing only in punctuation do not collide."""
    import hashlib

    base = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text)
    base = "-".join(p for p in base.split("-") if p)[:40]
    return f"{base or 'x'}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:6]}"
