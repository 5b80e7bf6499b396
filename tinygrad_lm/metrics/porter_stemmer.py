"""The Porter stemmer (Porter, 1980) in NLTK's default mode (``NLTK_EXTENSIONS``), which rouge-score uses.

A stemmer strips suffixes so that "connected", "connecting" and "connection" all become
"connect" and count as the same word. Porter's algorithm is five steps of suffix rules; a rule
fires only if what is left (the stem) is "long enough", measured by m:

    write the stem as [C](VC)^m[V], C a run of consonants, V a run of vowels:
    m("tr") = 0, m("trouble") = 1, m("troubles") = 2

A vowel is a, e, i, o, u, or a "y" after a consonant ("y" starting a word, or after a vowel,
is a consonant: in "toy" both t and y are consonants). In each list of rules the first suffix
the word ends with decides: if that rule's condition fails, no later rule of the list is tried.

NLTK's extensions over the 1980 paper, all kept here because rouge-score's
``PorterStemmer()`` has them on: a table of irregular forms (dying -> die, skies -> sky, news
stays news, ...); words of two letters or fewer are left alone; "ies"/"ied" of four-letter words
become "ie" ("ties" -> "tie"), longer "ied" -> "i"; Step 1c turns y into i only after a consonant
that is not the first letter ("happy" -> "happi", "enjoy" and "by" unchanged); Step 2 has
Porter's later "bli" -> "ble" (instead of "abli"), "alli" -> "al" applied before the other
Step 2 rules, and "fulli" -> "ful", "logi" -> "log"; "*o" also holds for a two-letter
vowel-consonant stem.

rouge-score stems only tokens longer than 3 characters, and its tokens are already lowercase
ASCII letters and digits; ``stem`` expects such a word too (it lowercases, nothing more).
Left out: NLTK's ORIGINAL_ALGORITHM and MARTIN_EXTENSIONS modes.
"""

_IRREGULAR = {
    "sky": ["sky", "skies"], "die": ["dying"], "lie": ["lying"], "tie": ["tying"], "news": ["news"],
    "inning": ["innings", "inning"], "outing": ["outings", "outing"], "canning": ["cannings", "canning"],
    "howe": ["howe"], "proceed": ["proceed"], "exceed": ["exceed"], "succeed": ["succeed"],
}
IRREGULAR_FORMS = {form: stem for stem, forms in _IRREGULAR.items() for form in forms}
VOWELS = frozenset("aeiou")


def consonant_flags(word: str) -> list:
    """True where word[i] is a consonant: not a vowel, and a "y" only at the start or after a vowel."""
    flags = []
    for i, char in enumerate(word):
        if char in VOWELS:
            flags.append(False)
        elif char == "y":
            flags.append(i == 0 or not flags[i - 1])
        else:
            flags.append(True)
    return flags


def measure(stem: str) -> int:
    """m of [C](VC)^m[V]: the number of vowel-run-then-consonant transitions ("troubles" -> 2)."""
    pattern = "".join("c" if consonant else "v" for consonant in consonant_flags(stem))
    return pattern.count("vc")


def _contains_vowel(stem):
    return not all(consonant_flags(stem))


def _ends_double_consonant(word):
    return len(word) >= 2 and word[-1] == word[-2] and consonant_flags(word)[-1]


def _ends_cvc(word):
    """*o: the stem ends consonant-vowel-consonant, the last not w, x or y ("hop"); NLTK adds "vc" words ("at")."""
    flags = consonant_flags(word)
    if len(word) >= 3:
        return flags[-3] and not flags[-2] and flags[-1] and word[-1] not in "wxy"
    return len(word) == 2 and not flags[0] and flags[1]


def _positive(stem):
    return measure(stem) > 0


def _more_than_one(stem):
    return measure(stem) > 1


def _apply_first(word, rules):
    """Apply the first rule (suffix, replacement, condition on the stem or None) whose suffix ends the word."""
    for suffix, replacement, condition in rules:
        if word.endswith(suffix):
            stem = word[:len(word) - len(suffix)]
            return stem + replacement if condition is None or condition(stem) else word
    return word


def _step1a(word):
    """Plurals: sses -> ss, ies -> i (a four-letter "ies" word -> "ie"), ss stays, s -> nothing."""
    if word.endswith("ies") and len(word) == 4:
        return word[:-3] + "ie"
    return _apply_first(word, [("sses", "ss", None), ("ies", "i", None), ("ss", "ss", None), ("s", "", None)])


def _step1b(word):
    """Past tenses and -ing: (m>0) eed -> ee; (*v*) ed, ing -> nothing, then tidy the stem left."""
    if word.endswith("ied"):
        return word[:-3] + ("ie" if len(word) == 4 else "i")
    if word.endswith("eed"):
        return word[:-1] if measure(word[:-3]) > 0 else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _contains_vowel(word[:-len(suffix)]):
            stem = word[:-len(suffix)]
            break
    else:
        return word
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"  # conflat(ed) -> conflate: the e lets later steps see -ate, -ble, -ize
    if _ends_double_consonant(stem):
        return stem[:-1] if stem[-1] not in "lsz" else stem  # hopp(ing) -> hop, fall(ing) stays
    return stem + "e" if measure(stem) == 1 and _ends_cvc(stem) else stem  # fil(ing) -> file


def _step1c(word):
    """y -> i after a consonant that is not the word's first letter: happy -> happi, sky and enjoy stay."""
    if word.endswith("y") and len(word) > 2 and consonant_flags(word[:-1])[-1]:
        return word[:-1] + "i"
    return word


_STEP2 = [("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
          ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"),
          ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"),
          ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"), ("fulli", "ful")]


def _step2(word):
    """Double suffixes to single ones when m > 0: relational -> relate, sensibiliti -> sensible."""
    if word.endswith("alli") and _positive(word[:-4]):
        return _step2(word[:-4] + "al")
    rules = [(suffix, replacement, _positive) for suffix, replacement in _STEP2]
    rules.append(("logi", "log", lambda stem: _positive(word[:-3])))  # NLTK measures the stem with its "l"
    return _apply_first(word, rules)


def _step3(word):
    """-ic-, -full, -ness and the like when m > 0: triplicate -> triplic, hopeful -> hope."""
    return _apply_first(word, [(suffix, replacement, _positive) for suffix, replacement in (
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""))])


_STEP4 = ("al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism",
          "ate", "iti", "ous", "ive", "ize")


def _step4(word):
    """Remove the last suffix when m > 1: allowance -> allow; -ion only after s or t (adoption -> adopt)."""
    def condition(suffix):
        if suffix == "ion":
            return lambda stem: _more_than_one(stem) and stem[-1] in "st"
        return _more_than_one
    return _apply_first(word, [(suffix, "", condition(suffix)) for suffix in _STEP4])


def _step5(word):
    """Final tidying: drop e when m > 1, or m = 1 and not *o (probate -> probat, rate stays); ll -> l if m > 1."""
    if word.endswith("e"):
        stem = word[:-1]
        m = measure(stem)
        if m > 1 or (m == 1 and not _ends_cvc(stem)):
            word = stem
    if word.endswith("ll") and measure(word[:-1]) > 1:
        word = word[:-1]
    return word


def stem(word: str) -> str:
    """The Porter stem of ``word`` (NLTK_EXTENSIONS): "running" -> "run", "generalizations" -> "gener"."""
    word = word.lower()
    if word in IRREGULAR_FORMS:
        return IRREGULAR_FORMS[word]
    if len(word) <= 2:
        return word
    for step in (_step1a, _step1b, _step1c, _step2, _step3, _step4, _step5):
        word = step(word)
    return word
