"""The transfer set: extra unlabelled text for distillation, with every held-out text kept out of it."""

from tinygrad_lm.compress.transfer import leak_free, normalized_words


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
