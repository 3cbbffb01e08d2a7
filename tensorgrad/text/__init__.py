"""Text and sequence models (§9, docs/maths.md): tokenization, vocabularies with ``<UNK>`` /
``<EOS>``, an offline English word list, RNN language models (word- and character-level),
sentence probability, perplexity, sampling, and the §9.3 architectures (many-to-many,
many-to-one, one-to-many, encoder-decoder); word embeddings (§9.6-9.7): ``KeyedVectors``,
word2vec, GloVe, a neural probabilistic language model, debiasing, and offline corpora."""
from .vocab import EOS, UNK, Vocab, char_tokenize, split_sentences, word_tokenize
from .data import iterate_batches, lm_batch, load_words, pad_batch, train_val_split
from .models import (RNNLanguageModel, Seq2Seq, SequenceClassifier, SequenceGenerator,
                     SequenceTagger, make_rnn)
from .lm import (perplexity, sample, sentence_log_prob, sentence_probability, sequence_nll,
                 train_language_model, unigram_perplexity)
from .vectors import KeyedVectors, plot_tsne
from .corpora import kjv_tokenize, load_kjv, planted_analogy_corpus
from .word2vec import Word2Vec, huffman_tree
from .nplm import NPLM, nplm_perplexity, train_nplm
from .glove import GloVe, cooccurrence_matrix, glove_loss
from .debias import bias_direction, equalize, hard_debias, neutralize
from .w2v_losses import (Word2VecGraph, context_vectors, hierarchical_softmax_loss,
                         negative_sampling_loss, softmax_loss)

__all__ = ["EOS", "UNK", "Vocab", "char_tokenize", "split_sentences", "word_tokenize",
           "iterate_batches", "lm_batch", "load_words", "pad_batch", "train_val_split",
           "RNNLanguageModel", "Seq2Seq", "SequenceClassifier", "SequenceGenerator",
           "SequenceTagger", "make_rnn", "perplexity", "sample", "sentence_log_prob",
           "sentence_probability", "sequence_nll", "train_language_model",
           "unigram_perplexity", "KeyedVectors", "plot_tsne", "kjv_tokenize", "load_kjv",
           "planted_analogy_corpus", "Word2Vec", "huffman_tree", "Word2VecGraph",
           "context_vectors", "hierarchical_softmax_loss", "negative_sampling_loss",
           "softmax_loss", "bias_direction", "equalize", "hard_debias", "neutralize",
           "GloVe", "cooccurrence_matrix", "glove_loss",
           "NPLM", "nplm_perplexity", "train_nplm"]
