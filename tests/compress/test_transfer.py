"""The transfer set: extra unlabelled text for distillation, with every held-out text kept out of it."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lm.compress.transfer import augmented, leak_free, normalized_words


def test_normalized_words_ignore_case_punctuation_and_spacing():
    assert normalized_words("The film's  ''GREAT''!") == normalized_words("the film ' s great .") == \
        ["the", "film", "s", "great"]


def test_texts_sharing_a_run_of_words_with_a_held_out_text_are_dropped():
    held_out = ["a wickedly sick and twisted humor , and a solid cast .", "too long ."]
    pool = ["A wickedly sick and twisted humor, and a SOLID cast.",  # the same text, another spelling
            "thanks to a wickedly sick and twisted humor the film works",  # shares six words in a row
            "Too long.",  # a short held-out text, whole
            "too long for its own good , but fun",  # shares only two words: kept
            "a quiet , lovely film"]
    assert leak_free(pool, held_out, n=6) == ["too long for its own good , but fun", "a quiet , lovely film"]


def _is_contiguous_piece(part, whole):
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def _is_subsequence(part, whole):
    rest = iter(whole)
    return all(word in rest for word in part)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=12).map(" ".join), min_size=1, max_size=6),
       st.integers(1, 4), st.integers(0, 5))
def test_augmented_variants_are_crops_or_dropouts_of_long_enough_texts_and_never_repeat(texts, copies, seed):
    out = augmented(texts, copies, seed)
    assert out == augmented(texts, copies, seed)  # deterministic for a seed
    assert len(out) == len(set(out)) and not set(out) & set(texts)
    sources = [t.split() for t in texts if len(t.split()) >= 4]
    assert len(out) <= copies * len(sources)
    for variant in map(str.split, out):
        assert len(variant) >= 2
        assert any((len(w) + 1) // 2 <= len(variant) < len(w) and _is_contiguous_piece(variant, w)
                   or _is_subsequence(variant, w) for w in sources)


def test_augmented_alternates_a_crop_and_a_word_dropout():
    text = " ".join(f"w{i}" for i in range(40))
    crop, dropout = augmented([text], 2, seed=3)
    words, cropped, dropped = text.split(), crop.split(), dropout.split()
    assert 20 <= len(cropped) <= 39 and _is_contiguous_piece(cropped, words)
    assert _is_subsequence(dropped, words) and not _is_contiguous_piece(dropped, words)
    assert augmented(["too short a"], 3) == []
