"""Text and sequence models (§9, docs/maths.md): tokenization, vocabularies with ``<UNK>`` /
``<EOS>``, an offline English word list, RNN language models (word- and character-level),
sentence probability, perplexity, sampling, and the §9.3 architectures (many-to-many,
many-to-one, one-to-many, encoder-decoder)."""
from .vocab import EOS, UNK, Vocab, char_tokenize, split_sentences, word_tokenize
from .data import iterate_batches, lm_batch, load_words, pad_batch, train_val_split
from .models import (RNNLanguageModel, Seq2Seq, SequenceClassifier, SequenceGenerator,
                     SequenceTagger, make_rnn)
from .lm import (perplexity, sample, sentence_log_prob, sentence_probability, sequence_nll,
                 train_language_model, unigram_perplexity)

__all__ = ["EOS", "UNK", "Vocab", "char_tokenize", "split_sentences", "word_tokenize",
           "iterate_batches", "lm_batch", "load_words", "pad_batch", "train_val_split",
           "RNNLanguageModel", "Seq2Seq", "SequenceClassifier", "SequenceGenerator",
           "SequenceTagger", "make_rnn", "perplexity", "sample", "sentence_log_prob",
           "sentence_probability", "sequence_nll", "train_language_model",
           "unigram_perplexity"]
