"""Chapter 14: Measuring generated text: BLEU and ROUGE by hand, then why the standard tools' choices matter.

Computes BLEU on a small example with pencil-and-paper steps (n-gram counts, clipping, the
brevity penalty from the closest reference, the geometric mean) and ROUGE-1/2/L/Lsum (clipped
overlap, the LCS table, the union LCS of a two-sentence summary), and shows that
``tinygrad_lm.metrics`` gives the same numbers. Then scores the same outputs with the three
tokenisers (13a, intl, none) and the four smoothing methods to show how far the number moves
with choices that are not the system's (tutorials/figures/14_tokenisation_and_smoothing.png);
trains a byte-level BPE live on Shakespeare and shows why BLEU must not be computed on subword
pieces. Ends by checking the library against sacrebleu and rouge-score where they are
installed, else against their answers committed in tests/metrics/*_golden.json. Run with
``python tutorials/14_measuring_generated_text.py`` from the repository root; needs the
Shakespeare corpus (fetched once, then cached). ``TINYGRAD_LM_TUTORIAL_SMALL=1`` trains the BPE
on less text. Left out: chrF beyond one line, TER, METEOR, BERTScore and learned metrics, and
significance tests between systems.
"""

# %% [markdown]
# # Chapter 14 — Measuring generated text
#
# A classifier's output is right or wrong; a translation or a summary is neither. "The cat sat
# on the mat" and "A cat was sitting on the mat" both say it. Asking people is the real test, but
# it is slow and costly, so systems are compared with automatic scores that count how much of
# the output's wording a human reference shares:
#
# - **BLEU** (Papineni et al. 2002), for translation: what fraction of the output's n-grams
#   (n = 1..4) appear in a reference, a *precision*, with a penalty for being too short;
# - **ROUGE** (Lin 2004), for summaries: what fraction of the reference's unigrams, bigrams or
#   longest common subsequence the output recovers, a *recall* (reported with precision and F).
#
# Both are easy to write and easy to get subtly different, and a BLEU of 27.3 from one script
# is not a BLEU of 27.3 from another. So after computing each by hand we hold the library to
# the tools everyone reports with, sacrebleu and rouge-score.

# %%
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

from tinygrad_lm.data import load_corpus
from tinygrad_lm.data.bpe_trainer import train_bpe
from tinygrad_lm.metrics import (
    corpus_bleu,
    corpus_chrf,
    rouge_scores,
    rouge_scores_multi,
    sentence_bleu,
)
from tinygrad_lm.metrics.mt_tokenizers import TOKENIZERS

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)
GOLDEN = Path("tests/metrics")  # the oracles' committed answers

# %% [markdown]
# ## 1. BLEU by hand
#
# One output (the *hypothesis*) and two references, already split into words. For each order
# n we count the hypothesis' n-grams and how many of them a reference contains. A count is
# **clipped** at the most times any single reference uses that n-gram: otherwise "the the the"
# would earn full unigram credit against any reference with a "the".

# %%
def words(line):
    """The space-separated words of a line (this section's lines are already tokenised)."""
    return line.split()


hypothesis = words("the cat sat on the mat .")
references = [words("the cat is sitting on the mat ."), words("there is a cat on the mat .")]


def ngrams(words, n):
    """Counts of the n-grams (tuples of n words) of a word list."""
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


precisions = []
print(" n  hyp n-grams  matched (clipped)  p_n")
for n in range(1, 5):
    hyp_grams = ngrams(hypothesis, n)
    most_in_a_reference = Counter()
    for reference in references:
        most_in_a_reference |= ngrams(reference, n)  # | keeps, per n-gram, the larger count
    matched = sum(min(count, most_in_a_reference[gram]) for gram, count in hyp_grams.items())
    total = sum(hyp_grams.values())
    precisions.append(matched / total)
    print(f" {n}  {total:10d}  {matched:17d}  {matched}/{total} = {matched / total:.4f}")

# %% [markdown]
# Precision alone rewards saying little: "the mat ." would score p_1 = 1. The **brevity
# penalty** takes the reference length r closest to the hypothesis length c (a tie goes to the
# shorter reference) and multiplies by exp(1 - r/c) when c < r. BLEU is then the geometric mean
# of the four precisions, times BP, on a 0-100 scale:
#
#     BLEU = 100 * BP * exp((log p_1 + log p_2 + log p_3 + log p_4) / 4)

# %%
c = len(hypothesis)
r = min((len(ref) for ref in references), key=lambda length: (abs(c - length), length))
brevity_penalty = 1.0 if c >= r else math.exp(1 - r / c)
by_hand = 100 * brevity_penalty * math.exp(sum(math.log(p) for p in precisions) / 4)
library = sentence_bleu(" ".join(hypothesis), [" ".join(ref) for ref in references], tokenize="none",
                        smooth_method="none")
print(f"c = {c}, r = {r}, BP = {brevity_penalty:.4f}; BLEU by hand {by_hand:.4f}")
print(f"library: {library}")

clipped = sentence_bleu("the the the the the the the", ["the cat is on the mat"], tokenize="none")
print(f"'the' x 7 against 'the cat is on the mat': unigram precision {clipped.precisions[0]:.1f}% "
      f"({clipped.counts[0]} of {clipped.totals[0]}, clipped at the reference's two)")

# %% [markdown]
# **Corpus BLEU is not the mean of sentence BLEUs.** Counts are summed over all segments first
# and divided once, so a long sentence weighs more than a short one, and one sentence with no
# 4-gram match does not zero the whole corpus.

# %%
outputs = ["the cat sat on the mat .", "it rained ."]
reference_lines = ["the cat is sitting on the mat .", "it was raining all day ."]
corpus = corpus_bleu(outputs, [reference_lines], tokenize="none")
sentences = [sentence_bleu(h, [ref], tokenize="none").score for h, ref in zip(outputs, reference_lines)]
print(f"corpus BLEU {corpus.score:.2f}; sentence BLEUs {sentences[0]:.2f} and {sentences[1]:.2f} "
      f"(mean {sum(sentences) / 2:.2f})")

# %% [markdown]
# ## 2. ROUGE by hand
#
# ROUGE turns the question around: how much of the *reference* did the output recover? Its
# tokeniser lowercases and keeps only runs of a-z and 0-9. ROUGE-N counts clipped n-gram overlap;
# recall divides by the reference's n-grams, precision by the output's, F is their harmonic mean.

# %%
target = "The cat sat on the mat.\nIt was happy."
prediction = "It was very happy.\nThe cat was on the mat."
tokens = {name: " ".join(text.split("\n")).lower().replace(".", "").split()
          for name, text in (("target", target), ("prediction", prediction))}
hand = {}
for n in (1, 2):
    t_grams, p_grams = ngrams(tokens["target"], n), ngrams(tokens["prediction"], n)
    overlap = sum(min(count, p_grams[gram]) for gram, count in t_grams.items())
    p, r = overlap / sum(p_grams.values()), overlap / sum(t_grams.values())
    hand[f"rouge{n}"] = (p, r, 2 * p * r / (p + r))
    print(f"ROUGE-{n}: overlap {overlap}, precision {overlap}/{sum(p_grams.values())}, "
          f"recall {overlap}/{sum(t_grams.values())}")

# %% [markdown]
# ROUGE-L uses the **longest common subsequence**: words in the same order, gaps allowed. It
# rewards sentence-level word order without asking for contiguous n-grams. The table
# L[i][j] = LCS length of the first i target words and first j prediction words fills row by row:
# L[i][j] = L[i-1][j-1] + 1 when the words are equal, else max(L[i-1][j], L[i][j-1]).

# %%
def lcs_length(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table


table = lcs_length(tokens["target"], tokens["prediction"])
print("        " + " ".join(f"{w[:4]:>4}" for w in tokens["prediction"]))
for word, row in zip(tokens["target"], table[1:]):
    print(f"{word[:6]:>6}  " + " ".join(f"{v:4d}" for v in row[1:]))
lcs = table[-1][-1]
p, r = lcs / len(tokens["prediction"]), lcs / len(tokens["target"])
hand["rougeL"] = (p, r, 2 * p * r / (p + r))
print(f"LCS = {lcs}: ROUGE-L precision {lcs}/{len(tokens['prediction'])}, recall {lcs}/{len(tokens['target'])}")

# %% [markdown]
# **ROUGE-Lsum** treats a summary as sentences (split at newlines). For each reference sentence
# it takes the *union* of the words that an LCS with each output sentence uses, so a reference
# sentence split across two output sentences still counts whole, and the order of the
# sentences no longer matters. Above, the output told the two facts in the other order, and one
# subsequence over the whole text can follow only one of them. Sentence by sentence, each
# reference sentence is found inside one output sentence ("the cat on the mat", 5 words, and "it
# was happy", 3), so the union is just those LCSs: 8 hits, out of 10 output and 9 reference words.

# %%
target_sentences = [line.lower().replace(".", "").split() for line in target.split("\n")]
prediction_sentences = [line.lower().replace(".", "").split() for line in prediction.split("\n")]
hits = sum(max(lcs_length(ref, out)[-1][-1] for out in prediction_sentences) for ref in target_sentences)
p, r = hits / len(tokens["prediction"]), hits / len(tokens["target"])
hand["rougeLsum"] = (p, r, 2 * p * r / (p + r))
print(f"ROUGE-Lsum hits {hits}: precision {hits}/{len(tokens['prediction'])}, recall {hits}/{len(tokens['target'])}")
library_rouge = rouge_scores(target, prediction)
for name, score in library_rouge.items():
    print(f"{name:<9} P {score.precision:.4f}  R {score.recall:.4f}  F {score.fmeasure:.4f}")

# %% [markdown]
# ## 3. Tokenisation: the same outputs, three scores
#
# BLEU counts *words*, so where a line is cut into words decides the score. Split on spaces
# ("none") and "mat." never matches "mat". mteval's **13a**, WMT's default and sacrebleu's,
# cuts off ASCII punctuation but keeps "3.5" and "1,000" whole; it does not know « » ¿ or €.
# **intl** cuts every Unicode punctuation mark and symbol. None is wrong; they are different
# measuring tapes, and a score means nothing without the name of its tape (sacrebleu prints it
# in a "signature").

# %%
system = ["The price is 1,000.50€, isn't it?", "«Bonjour», dit-il.", "¿Dónde está la biblioteca?",
          'He called it "well-known".']
gold = ["The price is 1,000.50 €, isn't it?", "« Bonjour », a-t-il dit.", "¿Dónde está la biblioteca?",
        'He said it was "well known".']
for name, tokenize in TOKENIZERS.items():
    print(f"{name:>4}: {tokenize(system[1])!r:36} {tokenize(system[2])!r}")
by_tokeniser = {name: corpus_bleu(system, [gold], tokenize=name).score for name in TOKENIZERS}
print("corpus BLEU: " + ", ".join(f"{name} {score:.2f}" for name, score in by_tokeniser.items()))

# %% [markdown]
# ## 4. Smoothing: short sentences and missing n-grams
#
# A sentence with no matching 4-gram has p_4 = 0 and BLEU = 0, however good the rest. Over a
# corpus that almost never happens; for one sentence it is common. Chen & Cherry (2014) compared
# remedies; sacrebleu offers **exp** (the k-th empty order gets 1/2^k of a match, its default),
# **floor** (0.1 of a match), **add-k** (add 1 to matches and totals from n = 2) and **none**.
# Sentence BLEU also uses the **effective order**: a 3-word sentence has no 4-grams at all, so
# the mean runs over n = 1..3 only. Below, the reference's first L words with one word changed:

# %%
reference = words("the committee approved the new budget after a long debate on monday")
lengths = list(range(2, len(reference) + 1))
smoothing = {}
for method in ("exp", "floor", "add-k", "none"):
    smoothing[method] = []
    for length in lengths:
        hyp = reference[:length]
        hyp[length // 2] = "revised"  # one wrong word in the middle
        smoothing[method].append(sentence_bleu(" ".join(hyp), [" ".join(reference)], smooth_method=method).score)
short = {method: scores[2] for method, scores in smoothing.items()}
print("4-word hypothesis: " + ", ".join(f"{m} {s:.2f}" for m, s in short.items()))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.bar(list(by_tokeniser), list(by_tokeniser.values()), color=["tab:blue", "tab:orange", "tab:gray"])
left.set(title="Same outputs, three tokenisers", ylabel="corpus BLEU")
for method, scores in smoothing.items():
    right.plot(lengths, scores, marker="o", label=method)
right.set(title="Sentence BLEU, one wrong word, by smoothing", xlabel="hypothesis length (words)",
          ylabel="sentence BLEU")
right.legend()
fig.tight_layout()
fig.savefig(FIGURES / "14_tokenisation_and_smoothing.png", dpi=120)

# %% [markdown]
# What the picture shows (`tutorials/figures/14_tokenisation_and_smoothing.png`): on the left,
# the same four outputs move by tens of BLEU points between tape measures (intl splits « » ¿ €,
# which 13a leaves glued to words). On the right, with no smoothing every hypothesis shorter
# than 8 words scores exactly 0: its one wrong word sits in the middle, inside every 4-gram.
# The smoothed curves differ most exactly where sentences are short. From 8 words on a 4-gram
# escapes the wrong word, exp, floor and none become the same number, and only add-k, which
# adds 1 to every order from 2 up whether it matched or not, stays above.
#
# ## 5. Byte-level BPE, trained live, and why BLEU is not computed on its pieces
#
# A translation model reads and writes subword pieces (chapter 13): byte-level BPE starts from
# the 256 bytes and repeatedly merges the most frequent adjacent pair. Training one takes a
# second on a slice of Shakespeare. The pieces print as GPT-2 shows them: each byte as one
# printable character, "Ġ" for the space a word starts with, and a byte of a multi-byte UTF-8
# character as a Latin-1 look-alike ("¿" is the bytes C2 BF, shown "Â¿"). Spanish and emoji,
# never seen in training, fall apart into many short pieces, yet decoding gives back every byte.

# %%
text = load_corpus("shakespeare")[: 50_000 if SMALL else 400_000]
bpe = train_bpe([text], vocab_size=256 + 500 + 1)  # 256 bytes, 500 merges, <|endoftext|>
print(f"trained on {len(text):,} characters: {bpe.vocab_size} tokens; first merges: "
      + ", ".join(repr(a + b) for a, b in bpe.merges[:8]))
for line in ("To be, or not to be: that is the question.", "¿Dónde está la biblioteca? 🦜"):
    print(f"{len(bpe.encode_list(line)):3d} pieces: {bpe.tokenize(line)}")
sample = "naïve café, 日本語 and 👩‍💻"
round_trip = bpe.decode(bpe.encode_list(sample))
print(f"decode(encode(x)) == x for {sample!r}: {round_trip == sample}")

# %% [markdown]
# Scoring the pieces instead of the words gives partial credit for a right stem with a wrong
# ending ("walked" / "walking" share "walk"), and more n-grams per sentence, so the number
# rises without the translation changing. Models are therefore scored on their *detokenised*
# output, with a standard tokeniser: pieces are the model's business, not the metric's.

# %%
outputs = ["the kings walked slowly to the castle", "she was reading quietly"]
references_bpe = ["the king walks slowly to his castle", "she reads quietly"]


def pieces(line):
    return " ".join(bpe.tokenize(line))


on_words = corpus_bleu(outputs, [references_bpe]).score
on_pieces = corpus_bleu([pieces(o) for o in outputs], [[pieces(r) for r in references_bpe]], tokenize="none").score
print(f"BLEU on words {on_words:.2f}; on BPE pieces {on_pieces:.2f}")
print(f"chrF (characters, no tokeniser needed) {corpus_chrf(outputs, [references_bpe]).score:.2f}")

# %% [markdown]
# ## The check
#
# The hand computations equal the library's; and the library equals the tools people report
# with: sacrebleu and rouge-score when they are installed (`pip install 'tinygrad_lm[test]'`),
# otherwise their answers on seeded random cases, committed in `tests/metrics/*_golden.json`.

# %%
assert abs(library.score - by_hand) < 1e-9, (library.score, by_hand)
assert clipped.counts[0] == 2 and clipped.totals[0] == 7, clipped
assert abs(corpus.score - sum(sentences) / 2) > 1, (corpus.score, sentences)
for name, (p, r, f) in hand.items():
    ours = library_rouge[name]
    assert max(abs(ours.precision - p), abs(ours.recall - r), abs(ours.fmeasure - f)) < 1e-12, (name, ours, p, r)
assert library_rouge["rougeLsum"].fmeasure > library_rouge["rougeL"].fmeasure
assert len({round(s, 6) for s in by_tokeniser.values()}) == 3, by_tokeniser
assert short["none"] == 0.0 and min(short["exp"], short["floor"], short["add-k"]) > 0, short
escaped = lengths.index(8)  # from 8 words on, a 4-gram escapes the wrong word
assert not any(smoothing["none"][:escaped]) and all(smoothing["none"][escaped:]), smoothing["none"]
assert smoothing["exp"][escaped:] == smoothing["floor"][escaped:] == smoothing["none"][escaped:], smoothing
assert round_trip == sample and on_pieces > on_words, (on_pieces, on_words)

try:
    import sacrebleu
    from rouge_score import rouge_scorer
except ImportError:
    sacrebleu = None
if sacrebleu is not None:
    checked = 0
    for name in TOKENIZERS:
        for method in ("exp", "floor", "add-k", "none"):
            theirs = sacrebleu.corpus_bleu(system, [gold], tokenize=name, smooth_method=method).score
            assert abs(corpus_bleu(system, [gold], tokenize=name, smooth_method=method).score - theirs) < 1e-6
            checked += 1
    for method, scores in smoothing.items():
        for length, score in zip(lengths, scores):
            hyp = reference[:length]
            hyp[length // 2] = "revised"
            theirs = sacrebleu.sentence_bleu(" ".join(hyp), [" ".join(reference)], smooth_method=method).score
            assert abs(score - theirs) < 1e-6, (method, length, score, theirs)
            checked += 1
    assert abs(corpus_chrf(outputs, [references_bpe]).score
               - sacrebleu.corpus_chrf(outputs, [references_bpe]).score) < 1e-6
    for use_stemmer in (False, True):
        theirs = rouge_scorer.RougeScorer(list(library_rouge), use_stemmer=use_stemmer).score(target, prediction)
        ours = rouge_scores(target, prediction, use_stemmer=use_stemmer)
        assert all(abs(a - b) < 1e-9 for name in ours for a, b in zip(ours[name], theirs[name]))
    print(f"checked against sacrebleu {sacrebleu.__version__} ({checked + 1} scores) and rouge-score "
          "(8 ROUGE scores): equal")
else:
    bleu_cases = [case for case in json.loads((GOLDEN / "sacrebleu_golden.json").read_text())
                  if case["metric"] == "corpus_bleu"]
    for case in bleu_cases:
        ours = corpus_bleu(case["hypotheses"], case["references"], **case["kwargs"]).score
        assert abs(ours - case["expected"]["score"]) < 1e-6, case
    rouge_cases = json.loads((GOLDEN / "rouge_golden.json").read_text())["rouge"]
    for case in rouge_cases:
        ours = rouge_scores_multi(case["targets"], case["prediction"], list(case["expected"]), case["use_stemmer"])
        for name, expected in case["expected"].items():
            assert all(abs(a - b) < 1e-9 for a, b in zip(ours[name], expected)), (case, name)
    print(f"sacrebleu / rouge-score not installed: checked against their committed answers "
          f"({len(bleu_cases)} BLEU and {len(rouge_cases)} ROUGE cases): equal")
print(f"checked: BLEU by hand = library ({by_hand:.4f}), ROUGE-1/2/L/Lsum by hand = library, "
      f"tokenisers give {len(by_tokeniser)} different scores, no smoothing zeroes a short sentence")

# %% [markdown]
# ## Exercises
#
# In `tutorials/exercises/ch14.py`, checked by `pytest tutorials/exercises -k ch14` against
# the library (reference solutions in `tutorials/solutions/ch14.py`):
#
# 1. `bleu_counts`: section 1's clipped n-gram matches and totals, summed over a corpus of
#    segments with several references each: equal to `corpus_bleu`'s counts and totals;
# 2. `brevity_penalty`: the closest reference length per segment (ties to the shorter), summed,
#    and BP = exp(1 - r/c) below r: equal to `corpus_bleu`'s bp and lengths;
# 3. `rouge_l`: section 2's LCS table (two rows of it are enough) and ROUGE-L's precision,
#    recall and F: equal to `rouge_scores` on real paragraphs and on many short sequences;
# 4. `porter_measure`: the stemmer's m of [C](VC)^m[V], with the rule for "y": Porter's own
#    examples, and equal to the library's `measure` on every word of a few docstrings.
