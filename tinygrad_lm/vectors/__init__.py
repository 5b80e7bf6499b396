"""Static word vectors: Word2Vec (skip-gram, CBOW) and GloVe trained by Numba kernels, and their evaluation.

    tokens = tokenize(text)                                   # the documented rule (vocab.py)
    wv = train_word2vec(tokens, Word2VecConfig(cbow=False))   # or train_glove(tokens, GloveConfig())
    wv.nearest("king")                                        # cosine neighbours (keyed.py)
    save_word2vec("vectors.txt", wv)                          # gensim reads it (formats.py)
    folder = fetch_eval_sets()                                # the Google analogies, WS-353, SimLex-999
    evaluate_analogies(wv, folder / "questions-words.txt")    # gensim's conventions (evaluate.py)

Files: vocab.py (tokens, counts, subsampling, noise table), word2vec.py + word2vec_kernels.py,
glove.py + glove_kernels.py, keyed.py, formats.py, evaluate.py, eval_sets.py, corpus.py (the
English training text), sgns_autograd.py (the same loss through the autograd engine, for checks).
"""
