"""The word tokenisers of machine-translation scoring: ``13a``, ``intl`` and ``none``, as sacrebleu 2.x.

BLEU counts word n-grams, so the score depends on where a line is cut into words. "Hello,
world!" split on spaces gives the words "Hello," and "world!", which never match "Hello" and
"world". The standard tools therefore cut punctuation off first, always the same way, so that
scores from different papers are comparable. Each tokeniser maps a line to a line whose words
are separated by single spaces (no leading or trailing space):

    13a    mteval-v13a.pl, WMT's default and sacrebleu's. Undo four XML escapes (&quot; &amp;
           &lt; &gt;), drop "<skipped>", join "-\\n" line breaks, then put spaces around
           the ASCII punctuation  ! " # $ % & ( ) * + / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~
           always, around "." and "," unless a digit sits on that side (so "3.14" and
           "1,000" stay whole but "end." splits), and after "-" that follows a digit.
           Apostrophes and other hyphens stay inside words ("don't", "well-known").
    intl   mteval-v14.pl's international rules, over all of Unicode: a punctuation mark
           (category P*) is cut off unless a number (N*) sits on that side, and every
           symbol (S*: currency, maths, emoji) becomes a word of its own. Categories come
           from ``unicodedata`` (Python's Unicode version); sacrebleu asks the ``regex``
           package, whose Unicode version may be newer, so the two can differ on characters
           assigned or re-categorised after Python's version.
    none   no change: the line's own whitespace separates the words.

The three rewriting passes of ``intl`` scan left to right and never look at a character twice
within one pass, as a regular-expression substitution does ("a.." -> "a . ." after the first
pass, because the first match "a." consumes the first "."). Left out: sacrebleu's ``zh``,
``char``, ``ja-mecab``, ``ko-mecab`` and SentencePiece tokenisers.
"""

import re
import unicodedata

# 13a's first rule: the ASCII punctuation always split off (everything printable but letters,
# digits, "'", ",", "-" and ".").
_ALWAYS_SPLIT = re.compile("([" + re.escape("{|}~[\\]^_` !\"#$%&()*+:;<=>?@/") + "])")
_PERIOD_COMMA_AFTER_NON_DIGIT = re.compile(r"([^0-9])([.,])")
_PERIOD_COMMA_BEFORE_NON_DIGIT = re.compile(r"([.,])([^0-9])")
_DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")
_XML_ESCAPES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


def _single_spaces(line: str) -> str:
    """Words joined by one space, no space at either end (str.split's idea of whitespace)."""
    return " ".join(line.split())


def tokenize_13a(line: str) -> str:
    """mteval-v13a tokenisation: "It's 3.5$, ok." -> "It's 3.5 $ , ok ." (see the module docstring)."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        for escape, char in _XML_ESCAPES:
            line = line.replace(escape, char)
    line = f" {line} "  # the padding lets a final "." see a non-digit after it
    line = _ALWAYS_SPLIT.sub(r" \1 ", line)
    line = _PERIOD_COMMA_AFTER_NON_DIGIT.sub(r"\1 \2 ", line)
    line = _PERIOD_COMMA_BEFORE_NON_DIGIT.sub(r" \1 \2", line)
    line = _DASH_AFTER_DIGIT.sub(r"\1 \2 ", line)
    return _single_spaces(line)


def _is_number(char: str) -> bool:
    return unicodedata.category(char)[0] == "N"


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] == "P"


def _pair_pass(line: str, first, second, template: str) -> str:
    """Rewrite each non-overlapping pair (a, b) with first(a) and second(b), scanning left to right.

    ``template`` places the pair, e.g. "{} {} " for "a." -> "a . ". After a rewrite the scan
    resumes after b, exactly as a regular-expression substitution of a two-character pattern.
    """
    out, i = [], 0
    while i < len(line):
        if i + 1 < len(line) and first(line[i]) and second(line[i + 1]):
            out.append(template.format(line[i], line[i + 1]))
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def tokenize_intl(line: str) -> str:
    """mteval-v14 international tokenisation: "¿Qué?¡Sí! 3,5€" -> "¿ Qué ? ¡ Sí ! 3,5 €".

    Pass 1 puts spaces around punctuation preceded by a non-number, pass 2 around punctuation
    followed by a non-number, pass 3 around every symbol. A number then punctuation at the very
    end ("in 1999.") keeps its "." attached, as mteval-v14 does.
    """
    line = _pair_pass(line, lambda a: not _is_number(a), _is_punctuation, "{} {} ")
    line = _pair_pass(line, _is_punctuation, lambda b: not _is_number(b), " {} {}")
    line = "".join(f" {c} " if unicodedata.category(c)[0] == "S" else c for c in line)
    return _single_spaces(line)


def tokenize_none(line: str) -> str:
    """The line unchanged: its own whitespace separates the words."""
    return line


TOKENIZERS = {"13a": tokenize_13a, "intl": tokenize_intl, "none": tokenize_none}


def get_tokenizer(name: str):
    """The tokeniser called ``name``, or a one-line ValueError listing the choices."""
    if name not in TOKENIZERS:
        raise ValueError(f"unknown BLEU tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]
