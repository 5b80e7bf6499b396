"""Language-model metrics: perplexity from a mean cross-entropy.

Left out: bits per character / token (loss / ln 2) and anything that needs the model itself;
``tinygrad_lm.train.evaluate`` computes the mean loss that goes in here.
"""

import math


def perplexity(mean_loss):
    """exp(mean cross-entropy in nats per token): the effective number of equally likely next tokens.

    PPL = exp((1/N) sum_i -ln p(x_i | x_<i)). A uniform guess over V tokens has loss ln V and
    perplexity V. Returns inf when exp overflows (loss >= 700) and nan for a nan loss.
    """
    return math.exp(mean_loss) if mean_loss < 700 else math.inf
